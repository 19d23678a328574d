"""`screenshot`: a picture of the built Try it page answering one test text, where a reviewer looks first: saved as
docs/assets/try-it.png, and the README's first lines (between `<!-- picture:start -->` and `<!-- picture:end -->`)
show it linked to the live page. `make docs` runs it after building the site.

The page runs in a real headless Chromium (the system's, or Playwright's own) driven by Playwright, as the tests
drive it: the site is served on localhost and every other request is refused, so the picture shows what a visitor
of the published page sees. The PNG records which text, answer and build it shows (PNG text chunks): the same site
and text do not take (and commit) a new picture. Without a browser it says in one line how to get one.
"""

import argparse
import contextlib
import csv
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import struct
import threading
import zlib
from pathlib import Path

from .files import write_bytes, write_text
from .layout import Layout
from .project import prog
from .writeup import replace_block, site_info

PICTURE = "assets/try-it.png"  # under docs/ (and the built site)
BLOCK = "picture"
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Quiet, reproducible and offline, as in the tests: no GPU process, no background updates, sync or first-run requests.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 900}  # wide enough for Material's navigation tabs
HOW = (
    "install Chromium (Debian/Ubuntu: `sudo apt install chromium`; elsewhere: `python -m playwright install "
    "chromium`), then `make docs` again"
)
FALLBACK_TEXT = "What a goal in the last minute of the match!"


def find_chromium() -> str | None:
    """The browser to drive: $CHROMIUM (a path or a name on PATH), else the first of CHROMIUMS on PATH, else the one
    `python -m playwright install chromium` downloaded; None when there is none."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    found = next(filter(None, map(shutil.which, CHROMIUMS)), None)
    if found:
        return found
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # no Playwright, or no driver for this platform: no browser either way
        return None
    return path if Path(path).is_file() else None


def pick_text(root: Path, run: str | None) -> str:
    """The test text the picture shows: among the run's right answers of 30 to 140 characters (reports/<run>/
    predictions.csv), preferably one without the `@user` / `http` placeholders of normalised tweets, the most
    confident, then the shortest; else the export's first widget example; else a plain tweet."""
    layout = Layout(root)
    path = layout.report(run) / "predictions.csv" if run else None
    if path is not None and path.is_file():
        with path.open(newline="", encoding="utf-8") as f:
            right = [r for r in csv.DictReader(f) if r["gold"] == r["predicted"] and 30 <= len(r["text"]) <= 140]
        if right:
            plain = {r["text"]: not re.search(r"@user|\bhttp\b", r["text"]) for r in right}
            best = max(right, key=lambda r: (plain[r["text"]], round(float(r["confidence"]), 2), -len(r["text"])))
            return best["text"]
    examples = (read_json(layout.export(run) / "export.json") or {}).get("examples") if run else None
    return examples[0]["text"] if examples else FALLBACK_TEXT


def read_json(path: Path) -> dict | None:
    """A JSON file, None when it is missing."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@contextlib.contextmanager
def serve(directory: Path):
    """`directory` on 127.0.0.1 (a free port) in a thread; yields the base URL, ending with '/'."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def take(site: Path, text: str, chromium: str | None) -> tuple[bytes, dict]:
    """Open site/try/, type `text`, classify it; the PNG of the page down to the end of the Try it box, and what
    the page answered (`label`, `confidence`). RuntimeError with the page's own words when it cannot answer."""
    from playwright.sync_api import sync_playwright

    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        try:
            page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
            # Only the site itself: the GitHub API (Material's repository stars) and anything else are refused.
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
            page.goto(base + "try/", wait_until="load")
            page.wait_for_selector(".dl-demo:not([data-state=loading])", timeout=120_000)
            if page.get_attribute(".dl-demo", "data-state") != "ready":
                raise RuntimeError(page.inner_text(".dl-demo__status"))
            page.fill("#dl-demo-text", text)
            page.click(".dl-demo button[type=submit]")
            page.wait_for_function(
                "t => document.querySelector('.dl-demo__result')?.dataset.text === t", arg=text, timeout=60_000
            )
            box = page.eval_on_selector(".dl-demo", "e => { const r = e.getBoundingClientRect(); return r.bottom }")
            height = min(int(box + page.evaluate("window.scrollY")) + 24, 2000)
            png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
            answer = {
                "label": page.inner_text(".dl-demo__label"),
                "confidence": page.inner_text(".dl-demo__confidence"),
            }
        finally:
            browser.close()
    return png, answer


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_text(png: bytes, fields: dict[str, str]) -> bytes:
    """`png` with UTF-8 text chunks (iTXt) right after its header chunk: what the picture shows, readable by any
    PNG tool (Pillow's `Image.text`)."""
    end_of_header = 8 + 4 + 4 + 13 + 4  # signature, then IHDR: length, type, 13 bytes of data, CRC
    # iTXt: keyword, NUL, compression flag and method (0: none), empty language and translated keyword, UTF-8 text
    extra = b"".join(chunk(b"iTXt", key.encode("latin-1") + b"\0" * 5 + text.encode()) for key, text in fields.items())
    return png[:end_of_header] + extra + png[end_of_header:]


def text_of(png: bytes) -> dict[str, str]:
    """The iTXt fields of a PNG written by `with_text`."""
    fields, at = {}, 8
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I", png[at : at + 4])[0], png[at + 4 : at + 8]
        if kind == b"iTXt":
            key, _, rest = png[at + 8 : at + 8 + length].partition(b"\0")
            fields[key.decode("latin-1")] = rest[4:].decode(errors="replace")  # after flag, method, language, key
        at += 12 + length
    return fields


def build_key(site: Path, text: str) -> str:
    """What the picture depends on: the built Try it page, its script and model description, and the text."""
    digest = hashlib.sha256(text.encode())
    for rel in ("try/index.html", "javascripts/demo.js", "assets/demo/demo.json", "stylesheets/demo.css"):
        path = site / rel
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:16]


def readme_block(root: Path) -> str:
    """The README's opening picture, linked to the live Try it page (mkdocs.yml's site_url), or to docs/try.md."""
    writeup = site_info(root / "mkdocs.yml", root.resolve().name)["writeup"]
    link = f"{writeup.rstrip('/')}/try/" if writeup else "docs/try.md"
    return f"[![The Try it page answering a test tweet in the browser](docs/{PICTURE})]({link})"


def put_in_readme(root: Path) -> str:
    """Write the picture block into README.md; what happened, in words."""
    readme = root / "README.md"
    old = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    new = replace_block(old, BLOCK, readme_block(root))
    if new is None:
        return f"README.md has no `<!-- {BLOCK}:start -->` / `<!-- {BLOCK}:end -->` pair: paste {readme_block(root)}"
    if new != old:
        write_text(readme, new)
    return "the README opens with it"


def screenshot(root: Path, site: Path, docs: Path, text: str | None = None) -> str:
    """Take the picture when the site's Try it page has a model and something changed; one line saying what
    happened (how to get the picture when there is no browser)."""
    demo = read_json(site / "assets" / "demo" / "demo.json") or {}
    if not (site / "try" / "index.html").is_file() or not demo.get("file"):
        return "no picture: the Try it page has no model yet (`make export`, then `make docs`)"
    text = text or pick_text(root, demo.get("run"))
    target, key = docs / PICTURE, build_key(site, text)
    if target.is_file() and text_of(target.read_bytes()).get("Key") == key:
        shutil.copyfile(target, site / PICTURE)
        return f"docs/{PICTURE} is up to date; {put_in_readme(root)}"
    try:
        import playwright.sync_api  # noqa: F401  (the project's dev group installs it)
    except ImportError:
        return f"no picture for the README: Playwright is not installed (`make install` adds it); then {HOW}"
    chromium = find_chromium()
    if chromium is None:
        return f"no picture for the README: no Chromium here: {HOW}"
    try:
        png, answer = take(site, text, chromium)
    except RuntimeError as err:
        return f"no picture: the Try it page did not answer ({' '.join(str(err).split())[:200]})"
    except Exception as err:  # Playwright's own errors: a browser that cannot start here, a page that timed out
        return f"no picture for the README: Chromium failed ({str(err).strip().splitlines()[0][:160]}): {HOW}"
    fields = {"Title": "Try it", "Key": key, "Text": text, "Answer": f"{answer['label']} ({answer['confidence']})"}
    png = with_text(png, fields)
    write_bytes(target, png)
    write_bytes(site / PICTURE, png)
    return f'docs/{PICTURE}: "{text[:60]}" -> {answer["label"]} ({answer["confidence"]}); {put_in_readme(root)}'


def main(argv: list[str]) -> None:
    """`screenshot [--root DIR] [--site DIR] [--docs DIR] [--text TEXT]`: prints one line."""
    parser = argparse.ArgumentParser(prog=prog("screenshot"), description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project folder (README.md, mkdocs.yml, reports/; default: .)")
    parser.add_argument("--site", default=None, help="the built site (default: ROOT/site)")
    parser.add_argument("--docs", default=None, help="docs folder the picture goes to (default: ROOT/docs)")
    parser.add_argument("--text", default=None, help="the text to classify (default: a test text the model gets right)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    site = Path(args.site) if args.site else root / "site"
    docs = Path(args.docs) if args.docs else Layout(root).docs
    print(f"screenshot: {screenshot(root, site, docs, args.text)}")
