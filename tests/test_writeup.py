"""A baked project after `make train report docs`: the site shows metrics.json's numbers, builds strictly, keeps the
author's prose, and loads cleanly in a real headless Chromium (every image loaded, no console errors, a screenshot).
"""

import base64
import csv
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
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from PIL import Image

from .conftest import BIN, KIT, run_in

PERCENT = re.compile(r"\d+\.\d%")
PAGES = {"index": "", "results": "results/", "model-card": "model-card/"}
# The bag-of-n-grams preset with a smaller hash table (small checkpoints): seconds per epoch on a CI core.
SMALL_BOW = "--model.num_buckets 65536 --trainer.enable_progress_bar false"
SCREENSHOTS = KIT / "build" / "screenshots"


def make(project: Path, *targets: str, args: str = "") -> subprocess.CompletedProcess:
    """`make TARGETS` in the baked project with the kit's Python, on CPU."""
    extra = [f"ARGS={args}"] if args else []
    out = run_in(project, "make", "--no-print-directory", *targets, "TRAINER=cpu", f"PYTHON={BIN / 'python'}", *extra)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A sample-data bow project with a baseline run and a main run, reported and built."""
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("writeup")
    answers = {"dataset": "sample", "model": "bow", "tracking": "none", "init_git": "no", "github_username": "jdoe"}
    path = Path(cookiecutter(str(KIT), no_input=True, output_dir=str(out), extra_context=answers))
    make(path, "train", args=f"{SMALL_BOW} --trainer.max_epochs 1 --run_name baseline")
    make(path, "train", args=f"{SMALL_BOW} --trainer.max_epochs 4 --run_name main")
    make(path, "report", "docs")
    return path


def metrics_of(project: Path) -> dict:
    return json.loads((project / "reports" / "latest" / "metrics.json").read_text())


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
    parser = Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def fmt_pct(value: float) -> str:
    """The project's one format for metrics (writeup.fmt_pct): if it changes, these tests see other numbers."""
    return f"{100 * value:.1f}%"


def test_built_pages_and_pitch_show_exactly_the_numbers_of_metrics_json(project):
    m = metrics_of(project)
    with open(project / "reports" / "latest" / "errors.csv", newline="") as f:
        confidences = {fmt_pct(float(r["confidence"])) for r in csv.DictReader(f)}
    fractions = [*m["metrics"].values(), *m["baselines"]["majority"].values()]
    fractions += [m["baselines"]["bow"]["accuracy"], m["baselines"]["bow"]["macro_f1"]]
    fractions += [v for c in m["per_class"].values() for k, v in c.items() if k != "support"]
    allowed = {fmt_pct(v) for v in fractions}
    headline = (fmt_pct(m["metrics"]["accuracy"]), fmt_pct(m["metrics"]["macro_f1"]))
    site = project / "site"
    texts = {name: visible_text(site / path / "index.html") for name, path in PAGES.items()}
    for name, text in texts.items():
        shown = set(PERCENT.findall(text))
        assert shown and shown <= allowed | (confidences if name == "results" else set()), (name, shown - allowed)
        assert "Sample data, not real tweets" in text, name  # sample runs say so on every page
    assert all(h in texts["index"] for h in headline)
    assert "bag-of-n-grams baseline" in texts["index"] and "majority class" in texts["index"]
    for label, c in m["per_class"].items():
        cells = " ".join([label, *(fmt_pct(c[k]) for k in ("precision", "recall", "f1")), str(c["support"])])
        assert cells in texts["results"], cells
    assert f"{m['dataset']['splits']['test']} test examples" in texts["results"]
    readme = (project / "README.md").read_text()
    pitch = readme.split("<!-- pitch:start -->")[1].split("<!-- pitch:end -->")[0]
    assert set(PERCENT.findall(pitch)) <= allowed and all(h in pitch for h in headline)
    assert "Sample data, not real tweets" in pitch
    assert "(https://jdoe.github.io/tweet-topic-classifier/)" in pitch
    assert "(https://github.com/jdoe/tweet-topic-classifier)" in pitch
    assert m["links"] == {
        "writeup": "https://jdoe.github.io/tweet-topic-classifier/",
        "repo": "https://github.com/jdoe/tweet-topic-classifier",
    }
    assert m["baselines"]["bow"]["run"] == "baseline" and m["run"] == "main"


def test_figures_exist_and_open_as_images(project):
    m = metrics_of(project)
    assert set(m["figures"]) == {"confusion_matrix", "learning_curves", "per_class_f1"}
    for folder in (project / "reports" / "latest", project / "site" / "assets"):
        for rel in m["figures"].values():
            with Image.open(folder / rel) as image:
                image.load()
                assert image.format == "PNG" and min(image.size) > 100
            assert ET.parse((folder / rel).with_suffix(".svg")).getroot().tag.endswith("svg")


def test_rerunning_report_keeps_edited_prose_and_docs_still_build(project):
    index, readme = project / "docs" / "index.md", project / "README.md"
    mine = "I picked this problem because sorting my own feed by topic was tedious."
    index.write_text(index.read_text().replace("## Problem\n", f"## Why this problem\n\n{mine}\n", 1))
    readme.write_text(readme.read_text() + "\n## Notes\n\nMy own README notes.\n")
    before = (project / "docs" / "results.md").read_text()
    make(project, "report", "docs")
    assert f"## Why this problem\n\n{mine}\n" in index.read_text()
    assert "My own README notes." in readme.read_text()
    assert (project / "docs" / "results.md").read_text() == before  # same run, same numbers
    assert mine in visible_text(project / "site" / "index.html")


def test_make_predict_prints_a_label_and_probabilities(project):
    out = make(project, "predict", "TEXT=What a goal in the last minute of the match!")
    labels = metrics_of(project)["confusion_matrix"]["labels"]
    lines = out.stdout.strip().splitlines()[-len(labels) - 1 :]
    assert lines[0].split()[0] in labels and re.search(r"\(\d+\.\d%\)$", lines[0])
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(labels)


def test_report_before_training_is_one_clear_line(bake):
    project = bake(dataset="sample", model="bow", tracking="none")
    out = run_in(project, "make", "report", f"PYTHON={BIN / 'python'}")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "error: no run yet in runs/: run `make train` first." in out.stderr


def test_workflows_keep_github_expressions(bake):
    project = bake(python_version="3.12")
    for name in ("ci.yml", "docs.yml"):
        text = (project / ".github" / "workflows" / name).read_text()
        assert "${{ github.ref }}" in text and "raw %}" not in text
        workflow = yaml.safe_load(text)
        on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
        assert "push" in on and workflow["jobs"]
        assert '"3.12"' in text
    docs = (project / ".github" / "workflows" / "docs.yml").read_text()
    assert "mkdocs build --strict" in docs and "mkdocs gh-deploy --force" in docs and "branches: [main]" in docs
    mkdocs = yaml.safe_load((project / "mkdocs.yml").read_text())
    assert mkdocs["theme"]["name"] == "material" and "privacy" not in str(mkdocs["plugins"])
    assert {"search.suggest", "content.code.copy"} <= set(mkdocs["theme"]["features"])
    assert len(mkdocs["theme"]["palette"]) == 2  # the light/dark toggle


# --- a real browser -------------------------------------------------------------------------------------------------

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
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def receive(self, timeout: float) -> dict | None:
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
        wanted, deadline = self.post(method, **params), time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive(deadline - time.monotonic())
            if msg and msg.get("id") == wanted:
                assert "error" not in msg, f"{method}: {msg['error']}"
                return msg.get("result", {})
        raise TimeoutError(method)

    def wait_for(self, method: str, since: int, timeout: float = 30) -> None:
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


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs it (Debian package `chromium`).")
        pytest.skip("chromium is not installed: run `make test`, which installs it.")
    return path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_site_in_headless_chromium(project, chromium, tmp_path):
    headline = fmt_pct(metrics_of(project)["metrics"]["accuracy"])
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(project / "site"))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert browser.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"], base)
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable")
        tools.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in PAGES.items():
            since = len(tools.events)
            tools.call("Page.navigate", url=base + path)
            tools.wait_for("Page.loadEventFired", since)
            tools.settle()
            state = tools.call(
                "Runtime.evaluate",
                returnByValue=True,
                expression="({text: document.body.innerText, title: document.title, images: [...document.images]"
                ".map(i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}))})",
            )["result"]["value"]
            assert headline in state["text"], name
            assert state["images"] or name == "model-card"
            broken = [i["src"] for i in state["images"] if not (i["complete"] and i["width"] > 0)]
            assert not broken, (name, broken)
            assert not console_errors(tools.events[since:]), (name, console_errors(tools.events[since:]))
            # What a visitor sees first, then the whole page.
            size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000), "scale": 1}
            shots = {
                f"{name}.png": tools.call("Page.captureScreenshot", format="png"),
                f"{name}-full.png": tools.call(
                    "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
                ),
            }
            for filename, shot in shots.items():
                target = tmp_path / filename
                target.write_bytes(base64.b64decode(shot["data"]))
                with Image.open(target) as image:
                    assert image.size[0] >= 1000 and image.size[1] > 600
                shutil.copy(target, SCREENSHOTS / filename)
        assert not tools.foreign, f"the site asked third parties for {tools.foreign}"
        tools.ws.close()
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
