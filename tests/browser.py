"""A real headless Chromium for the kit's tests, driven over the DevTools protocol (no Selenium, no downloads).

The DevTools client, the console-error reader, the flags and the `chromium` fixture are the ones test_writeup.py
introduced, moved here unchanged so the site tests share them; `serve`, `browser` and `load` wrap the session set-up
that test used inline. A page is checked the way a visitor would see it: every image decoded (naturalWidth > 0), no
console error, no request to a third party (the GitHub API that Material asks for stars is answered locally).
"""

import base64
import contextlib
import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--window-size=1280,900", "--remote-debugging-port=0",
]  # fmt: skip
# Material asks the GitHub API for the repository's stars and forks: the test answers for GitHub, offline.
GITHUB_API = "https://api.github.com/"


class DevTools:
    """A minimal Chrome DevTools Protocol client: commands, events, and request interception."""

    def __init__(self, ws_url: str, base: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.base, self.next_id, self.events, self.foreign = base, 0, [], []

    def post(self, method: str, **params) -> int:
        """Send a command without waiting for its answer; return its id."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def receive(self, timeout: float) -> dict | None:
        """Read one message (routing paused requests, recording events); None when none came in time."""
        import websocket

        self.ws.settimeout(max(0.05, timeout))
        try:
            msg = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if msg.get("method") == "Fetch.requestPaused":
            self.route(msg["params"])
        elif "method" in msg:
            self.events.append(msg)
        return msg

    def route(self, paused: dict) -> None:
        """Serve the site from the local server, answer the GitHub API, refuse (and record) anything else."""
        url, rid = paused["request"]["url"], paused["requestId"]
        if url.startswith(self.base):
            self.post("Fetch.continueRequest", requestId=rid)
        elif url.startswith(GITHUB_API):
            facts = {"stargazers_count": 1, "forks_count": 0, "tag_name": "v0.1.0"}
            body = base64.b64encode(json.dumps(facts).encode()).decode()
            headers = [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Access-Control-Allow-Origin", "value": "*"},
            ]
            self.post("Fetch.fulfillRequest", requestId=rid, responseCode=200, responseHeaders=headers, body=body)
        else:
            self.foreign.append(url)
            self.post("Fetch.failRequest", requestId=rid, errorReason="BlockedByClient")

    def call(self, method: str, timeout: float = 30, **params) -> dict:
        """Send a command and return its result (events that arrive meanwhile are recorded)."""
        wanted, deadline = self.post(method, **params), time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive(deadline - time.monotonic())
            if msg and msg.get("id") == wanted:
                assert "error" not in msg, f"{method}: {msg['error']}"
                return msg.get("result", {})
        raise TimeoutError(method)

    def wait_for(self, method: str, since: int, timeout: float = 30) -> None:
        """Wait until an event `method` arrived after the `since`-th recorded event."""
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in self.events[since:]):
            assert time.monotonic() < deadline, f"no {method} within {timeout} s"
            self.receive(deadline - time.monotonic())

    def settle(self, quiet: float = 0.7, timeout: float = 10) -> None:
        """Read messages until none came for `quiet` seconds (late requests, console messages)."""
        deadline, last = time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            if self.receive(0.1):
                last = time.monotonic()


def console_errors(events: list[dict]) -> list[str]:
    """Every error the DevTools console would show: exceptions, console.error, failed loads and other log errors."""
    out = []
    for e in events:
        p = e["params"]
        if e["method"] == "Runtime.exceptionThrown":
            out.append(p["exceptionDetails"].get("exception", {}).get("description") or p["exceptionDetails"]["text"])
        elif e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(f"{p['entry']['text']} {p['entry'].get('url', '')}")
    return out


def find_chromium() -> str:
    """The chromium binary; skips the test locally and fails it on CI when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs it (Debian package `chromium`).")
        pytest.skip("chromium is not installed: run `make test`, which installs it.")
    return path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that does not log every request to stderr."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) in a thread; yield its base URL, ending with '/'."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def browser(chromium_path: str, base: str) -> Iterator[DevTools]:
    """A headless Chromium with a throw-away profile, its first tab driven by a DevTools client that only lets
    requests to `base` through (and answers the GitHub API); closed and removed afterwards."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    process = subprocess.Popen(
        [chromium_path, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"], base)
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable")
        tools.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        yield tools
    finally:
        if tools is not None:
            tools.ws.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


PAGE_STATE = (
    "({text: document.body.innerText, title: document.title, images: [...document.images]"
    ".map(i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}))})"
)


def load(tools: DevTools, url: str) -> dict:
    """Open `url`, wait for its load event and late messages; return its visible text, title, images and the
    console errors it caused. Images are scrolled into view first, so lazily loaded ones are fetched too."""
    since = len(tools.events)
    tools.call("Page.navigate", url=url)
    tools.wait_for("Page.loadEventFired", since)
    tools.call("Runtime.evaluate", expression="window.scrollTo(0, document.body.scrollHeight)")
    tools.settle()
    tools.call("Runtime.evaluate", expression="window.scrollTo(0, 0)")
    tools.settle(quiet=0.3)
    state = tools.call("Runtime.evaluate", returnByValue=True, expression=PAGE_STATE)["result"]["value"]
    state["errors"] = console_errors(tools.events[since:])
    state["broken_images"] = [i["src"] for i in state["images"] if not (i["complete"] and i["width"] > 0)]
    return state


def screenshot(tools: DevTools, target: Path, full_page: bool = False, max_height: int = 8000) -> Path:
    """Save what a visitor sees first (or the whole page, up to `max_height` px) as a PNG at `target`."""
    params = {"format": "png"}
    if full_page:
        size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
        params |= {"captureBeyondViewport": True, "clip": clip}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(tools.call("Page.captureScreenshot", **params)["data"]))
    return target


class Text(html.parser.HTMLParser):
    """The visible text of an HTML page (scripts, styles and comments left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(path: Path) -> str:
    """The visible text of a built HTML file, whitespace collapsed."""
    parser = Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", " ".join(parser.parts))
