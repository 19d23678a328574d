"""A fake Hugging Face Hub: a real HTTP server on 127.0.0.1 answering what `HfApi.create_repo` + `upload_folder` send.

The client's registry fetch (`GET /api/agent-harnesses`), repo creation (`POST /api/repos/create`, 409 when it
exists), repo info, README metadata validation, preupload (which files go through LFS), the LFS batch API with basic
transfer (upload URL + verify), the upload PUTs, and the ndjson commit. A wrong token gets the Hub's 401. Every
request is recorded (method, path, headers with lower-case names, body) and the repos' files are kept, so a test can
check what was sent and what the repo ends up holding. `refuse_commits=(status, message)` answers every commit with
that error, as the Hub does when it rejects a push (after the uploads went through).
"""

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".onnx", ".bin", ".safetensors", ".pt", ".ckpt")  # the Hub's default .gitattributes tracks these
LFS_MIN_BYTES = 10 * 1024 * 1024  # and any file this large


class FakeHub:
    """`with FakeHub(token) as hub:` serves on `hub.url`; `hub.requests`, `hub.repos` say what happened."""

    def __init__(self, token: str, user: str = "someone", refuse_commits: tuple[int, str] | None = None):
        self.token, self.user, self.refuse_commits = token, user, refuse_commits
        self.requests: list[dict] = []
        self.repos: dict[str, dict[str, bytes]] = {}  # repo id -> path -> content
        self.lfs: dict[str, bytes] = {}  # sha256 -> content uploaded through the LFS PUT
        self.commits: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def routes(self) -> list[tuple[str, str]]:
        """(method, path without query) of every upload request, in order (the client's telemetry fetch left out)."""
        paths = [(r["method"], r["path"].split("?")[0]) for r in self.requests]
        return [p for p in paths if p[1] != "/api/agent-harnesses"]

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: the test reads hub.requests instead
                pass

            def body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status: int, payload: dict | None = None, headers: dict | None = None) -> None:
                data = json.dumps(payload if payload is not None else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {hub.token}":
                    return True
                self.reply(401, {"error": "Invalid credentials in Authorization header"},
                           {"X-Error-Message": "Invalid credentials in Authorization header"})  # fmt: skip
                return False

            def handle_one(self, method: str) -> None:
                raw = self.body()
                path = self.path.split("?")[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                hub.requests.append({"method": method, "path": self.path, "headers": headers, "body": raw})
                repo = r"(?P<repo>[\w.-]+/[\w.-]+)"
                if method == "PUT" and (m := re.fullmatch(r"/lfs-upload/(?P<oid>[0-9a-f]{64})", path)):
                    if hashlib.sha256(raw).hexdigest() != m["oid"]:
                        return self.reply(400, {"error": "content does not match its oid"})
                    hub.lfs[m["oid"]] = raw
                    return self.reply(200, {})
                if method == "POST" and (m := re.fullmatch(rf"/{repo}\.git/info/lfs/objects/verify", path)):
                    obj = json.loads(raw)
                    ok = len(hub.lfs.get(obj["oid"], b"")) == obj["size"]
                    return self.reply(200 if ok else 404, {} if ok else {"error": "object not uploaded"})
                if method == "GET" and path == "/api/agent-harnesses":  # the client's once-a-day telemetry fetch
                    return self.reply(200, {"standardEnvVars": ["AI_AGENT"], "harnesses": {}})
                if not self.authorized():
                    return None
                if method == "POST" and path == "/api/repos/create":
                    req = json.loads(raw)
                    repo_id = f"{req.get('organization') or hub.user}/{req['name']}"
                    url = f"{hub.url}/{repo_id}"
                    if repo_id in hub.repos:
                        return self.reply(409, {"error": "You already created this model repo", "url": url})
                    hub.repos[repo_id] = {}
                    repo_sha = hashlib.sha1(repo_id.encode()).hexdigest()
                    return self.reply(200, {"url": url, "name": repo_id, "id": repo_sha})
                if method == "GET" and (m := re.fullmatch(rf"/api/models/{repo}(?:/revision/[\w.-]+)?", path)):
                    if m["repo"] not in hub.repos:
                        return self.reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                    siblings = [{"rfilename": p} for p in sorted(hub.repos[m["repo"]])]
                    return self.reply(200, {"id": m["repo"], "sha": "0" * 40, "siblings": siblings, "private": False})
                if method == "POST" and path == "/api/validate-yaml":
                    return self.reply(200, {"errors": [], "warnings": []})
                if method == "POST" and (m := re.fullmatch(rf"/api/models/{repo}/preupload/[\w.-]+", path)):
                    if m["repo"] not in hub.repos:
                        return self.reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                    files = [
                        {
                            "path": f["path"],
                            "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) or f["size"] >= LFS_MIN_BYTES
                            else "regular",
                            "shouldIgnore": False,
                            "oid": None,
                        }
                        for f in json.loads(raw)["files"]
                    ]  # fmt: skip
                    return self.reply(200, {"files": files, "commitOid": "0" * 40})
                if method == "POST" and (m := re.fullmatch(rf"/{repo}\.git/info/lfs/objects/batch", path)):
                    req = json.loads(raw)
                    objects = []
                    for obj in req["objects"]:
                        entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                        if obj["oid"] not in hub.lfs:
                            entry["actions"] = {
                                "upload": {"href": f"{hub.url}/lfs-upload/{obj['oid']}", "expires_in": 3600},
                                "verify": {
                                    "href": f"{hub.url}/{m['repo']}.git/info/lfs/objects/verify",
                                    "header": {"Authorization": "Basic bGZzOnZlcmlmeQ=="},
                                },
                            }
                        objects.append(entry)
                    return self.reply(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})
                if method == "POST" and (m := re.fullmatch(rf"/api/models/{repo}/commit/[\w.-]+", path)):
                    if m["repo"] not in hub.repos:
                        return self.reply(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                    if hub.refuse_commits:
                        status, message = hub.refuse_commits
                        return self.reply(status, {"error": message}, {"X-Error-Message": message})
                    lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
                    files = dict(hub.repos[m["repo"]])
                    for line in lines:
                        value = line["value"]
                        if line["key"] == "file":
                            files[value["path"]] = base64.b64decode(value["content"])
                        elif line["key"] == "lfsFile":
                            if value["oid"] not in hub.lfs:
                                return self.reply(422, {"error": f"LFS object {value['oid']} was never uploaded"})
                            files[value["path"]] = hub.lfs[value["oid"]]
                    hub.repos[m["repo"]] = files
                    oid = hashlib.sha1(raw).hexdigest()
                    hub.commits.append({"repo": m["repo"], "lines": lines, "oid": oid})
                    url = f"{hub.url}/{m['repo']}/commit/{oid}"
                    return self.reply(200, {"success": True, "commitOid": oid, "commitUrl": url, "hookOutput": ""})
                return self.reply(404, {"error": f"no route for {method} {path}"})

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def do_PUT(self):
                self.handle_one("PUT")

        return Handler
