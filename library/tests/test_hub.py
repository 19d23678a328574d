"""`push-model` against a fake Hub at the HTTP level: the requests a real upload makes, token and network errors."""

import json
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from dl_portfolio.layout import Layout

from .conftest import PROJECT
from .fake_hub import FakeHub

SRC = PROJECT / "src"
REPO_ID = Layout(PROJECT).settings().hub_repo  # the baked project's `<github_username>/<project_slug>`

TOKEN = "hf_" + "fakeTOKENthatMustNeverBeWritten42"  # split: the no-secrets pre-commit hook would refuse it whole
# As export writes it for HF_REPO=someone/old-name: push-model points it at the repo it really goes to.
README = (
    "---\nlicense: mit\npipeline_tag: text-classification\nmodel-index:\n- name: old-name\n  results: []\n---\n\n"
    '# Tiny model\n\n```python\nfolder = snapshot_download("someone/old-name")\n```\n'
)


@pytest.fixture
def project(tmp_path) -> Path:
    """A project folder with a run and its export (small files, two ONNX graphs that go through LFS)."""
    root = tmp_path / "project"
    (root / "runs" / "r1").mkdir(parents=True)
    shutil.copy(PROJECT / "pyproject.toml", root / "pyproject.toml")  # the project's settings: its Hub repo
    (root / "runs" / "r1" / "config.yaml").write_text("seed_everything: 0\n")
    (root / "runs" / "latest").symlink_to("r1")
    folder = root / "exports" / "r1"
    (folder / "onnx").mkdir(parents=True)
    (folder / "README.md").write_text(README)
    (folder / "config.json").write_text(json.dumps({"id2label": {"0": "cats", "1": "dogs"}}))
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0"}))
    info = {"repo_id": "someone/old-name", "files": {"README.md": len(README)}}
    (folder / "export.json").write_text(json.dumps(info))
    (folder / "onnx" / "model.onnx").write_bytes(os.urandom(300_000))
    (folder / "onnx" / "model_quantized.onnx").write_bytes(os.urandom(80_000))
    return root


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def push(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m PKG push-model ARGS` in the project, as `make push-model` runs it: a fresh process and a clean
    environment (HF_HOME inside the test folder); `HF_HUB_VERBOSITY="debug"` in `env` turns the client's logs on."""
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(project.parent),
        "HF_HOME": str(project.parent / "hf"),
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "tweet_topic_classifier", "push-model", *args],
        cwd=project, capture_output=True, text=True, env={**base, **env}, timeout=120,
    )  # fmt: skip


def one_line_error(out: subprocess.CompletedProcess) -> str:
    """The only line of stderr of a failed command (exit 2, no traceback)."""
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, out.stderr[-3000:]
    return lines[0]


def test_push_uploads_the_export_with_lfs_and_records_the_url(project):
    outputs = []
    with FakeHub(TOKEN) as hub:
        (project / ".env").write_text(f"HF_TOKEN={TOKEN}\n")  # the token from .env, as `make push-model` reads it
        debug = {"HF_HUB_VERBOSITY": "debug"}  # the client's debug logs on: they are checked for the token too
        out = push(project, "--run", "r1", "--repo", "someone/tiny-model", HF_ENDPOINT=hub.url, **debug)
        outputs.append(out)
        assert out.returncode == 0, out.stderr[-3000:]
        repo = "someone/tiny-model"
        routes = hub.routes()
        validate = ("POST", "/api/validate-yaml")  # the card's metadata is checked before anything is uploaded
        core = [r for r in routes if r != validate]
        assert core[:3] == [
            ("POST", "/api/repos/create"),
            ("POST", f"/api/models/{repo}/preupload/main"),  # which files go through LFS
            ("POST", f"/{repo}.git/info/lfs/objects/batch"),
        ]
        assert core[-1] == ("POST", f"/api/models/{repo}/commit/main")
        assert routes.index(validate) < routes.index(core[1])
        assert Counter(method for method, _ in core[3:-1]) == {"PUT": 2, "POST": 2}  # each ONNX file: PUT + verify
        uploads = [r for r in hub.requests if r["path"] != "/api/agent-harnesses"]
        create = json.loads(uploads[0]["body"])
        assert {k: create[k] for k in ("name", "organization", "type")} == {
            "name": "tiny-model", "organization": "someone", "type": "model"}  # fmt: skip
        assert create.get("visibility", "public") == "public" and not create.get("private")  # public unless --private
        batch = json.loads(next(r["body"] for r in uploads if r["path"].endswith("/objects/batch")))
        assert batch["operation"] == "upload" and "basic" in batch["transfers"] and len(batch["objects"]) == 2
        for r in uploads:
            storage = r["path"].startswith("/lfs-upload/")  # the presigned upload URL gets no token
            assert (r["headers"].get("authorization") == f"Bearer {TOKEN}") != storage, r["path"]
        assert not any("xet" in path for _, path in routes)
        assert hub.repos[repo] == files_of(project / "exports" / "r1")
        (commit,) = hub.commits
        kinds = {line["value"].get("path"): line["key"] for line in commit["lines"] if line["key"] != "header"}
        assert kinds == {"README.md": "file", "config.json": "file", "tokenizer.json": "file", "export.json": "file",
                         "onnx/model.onnx": "lfsFile", "onnx/model_quantized.onnx": "lfsFile"}  # fmt: skip
        assert commit["lines"][0]["value"]["summary"] == "Upload r1 (make push-model)"
        readme = hub.repos[repo]["README.md"].decode()
        assert 'snapshot_download("someone/tiny-model")' in readme and "- name: tiny-model\n" in readme
        assert "old-name" not in readme
        info = json.loads(hub.repos[repo]["export.json"])
        assert info == {"repo_id": repo, "files": {"README.md": len(readme.encode())}}
        hub_json = json.loads((project / "reports" / "r1" / "hub.json").read_text())
        url = f"{hub.url}/{repo}"
        assert hub_json == {"repo_id": repo, "url": url, "commit_url": f"{url}/commit/{commit['oid']}"}
        assert f"push-model: {url}\n" in out.stdout

        # Again, to the default repo: created anew; then once more: it exists (409) and the LFS objects are known.
        (project / ".env").unlink()
        for _ in range(2):
            outputs.append(push(project, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN, **debug))
            assert outputs[-1].returncode == 0, outputs[-1].stderr[-3000:]
        assert hub.repos[REPO_ID] == files_of(project / "exports" / "r1")
        assert sum(method == "PUT" for method, _ in hub.routes()) == 2  # the later pushes upload nothing new
        assert len(hub.commits) == 3
    assert "/commit/main (authenticated: True)" in outputs[0].stderr  # the logs were there to check
    assert all(TOKEN not in o.stdout + o.stderr for o in outputs)
    written = [p for p in project.parent.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert written == []  # .env was removed above: nothing else ever held the token


@pytest.mark.parametrize("token", [None, "", "hf_wrongtoken"])
def test_missing_or_rejected_token_is_one_line_naming_hf_token(project, token):
    with FakeHub(TOKEN) as hub:
        env = {"HF_ENDPOINT": hub.url} | ({} if token is None else {"HF_TOKEN": token})
        err = one_line_error(push(project, "--repo", "someone/tiny-model", **env))
        assert "HF_TOKEN" in err
        if token:
            assert "rejected HF_TOKEN (401)" in err and token not in err
            assert hub.routes()[0] == ("POST", "/api/repos/create") and not hub.repos
        else:
            assert "HF_TOKEN is not set" in err and hub.routes() == []
    assert not (project / "reports").exists()


def test_network_error_is_one_line(project):
    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = push(project, HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_TOKEN=TOKEN)
    err = one_line_error(out)
    assert f"could not reach the Hugging Face Hub at http://127.0.0.1:{port}" in err
    assert TOKEN not in out.stdout + out.stderr and not (project / "reports").exists()


def test_push_without_an_export_or_with_a_bad_repo_id_is_one_line(project):
    for args, message in [
        (["--repo", "no-slash"], "'no-slash' is not a Hub repo id"),
        (["--run", "missing"], "no run 'missing' in"),
    ]:
        assert message in one_line_error(push(project, *args, HF_TOKEN=TOKEN))
    (project / "exports" / "r1" / "README.md").unlink()
    assert "is not a finished export: run `make export RUN=r1` first" in one_line_error(push(project, HF_TOKEN=TOKEN))
