"""A real headless Chromium for the kit's tests, driven by Playwright for Python on Debian's `chromium` (nothing is
downloaded: Playwright launches the system binary through `executable_path`).

`serve` puts a built site on localhost, `browser` opens a tab that only lets requests to that server through (the
GitHub API that Material asks for stars is answered locally, anything else is refused and recorded in `foreign`),
`load` opens a page the way a visitor sees it: every image decoded (naturalWidth > 0), no console error.
"""

import contextlib
import html.parser
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dl_portfolio.screenshot import serve as serve  # a built site on 127.0.0.1: the library's, re-exported

# Quiet, reproducible and offline: no GPU process, no background updates, sync or first-run requests.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
VIEWPORT = {"width": 1280, "height": 900}
# Material asks the GitHub API for the repository's stars and forks: the test answers for GitHub, offline.
GITHUB_API = "https://api.github.com/"
GITHUB_FACTS = {"stargazers_count": 1, "forks_count": 0, "tag_name": "v0.1.0"}


def find_chromium() -> str:
    """The chromium binary; skips the test locally and fails it on CI when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs it (Debian package `chromium`).")
        pytest.skip("chromium is not installed: run `make test`, which installs it.")
    return path


@dataclass
class Tab:
    """One browser tab: the Playwright page, the console errors it logged, the third-party requests it tried."""

    page: object
    base: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def route(self, route) -> None:
        """Serve the site from the local server, answer the GitHub API, refuse (and record) anything else."""
        url = route.request.url
        if url.startswith(self.base):
            route.continue_()
        elif url.startswith(GITHUB_API):
            route.fulfill(
                status=200,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": "*"},
                body=json.dumps(GITHUB_FACTS),
            )
        else:
            self.foreign.append(url)
            route.abort("blockedbyclient")

    def console(self, message) -> None:
        """Record what the DevTools console shows as an error: console.error/assert and failed loads."""
        if message.type in ("error", "assert"):
            where = message.location.get("url", "")
            self.errors.append(f"{message.text} {where}".strip())


@contextlib.contextmanager
def browser(chromium_path: str, base: str) -> Iterator[Tab]:
    """A headless Chromium with a throw-away profile and one tab that only lets requests to `base` through (and
    answers the GitHub API); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = chromium.new_context(viewport=VIEWPORT).new_page()
            tab = Tab(page, base)
            page.route("**/*", tab.route)
            page.on("console", tab.console)
            page.on("pageerror", lambda err: tab.errors.append(f"uncaught {err}"))
            yield tab
        finally:
            chromium.close()


PAGE_STATE = (
    "() => ({text: document.body.innerText, title: document.title, images: [...document.images]"
    ".map(i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}))})"
)


def load(tab: Tab, url: str) -> dict:
    """Open `url`, wait for its load event and late requests; return its visible text, title, images and the
    console errors it caused. Images are scrolled into view first, so lazily loaded ones are fetched too."""
    since = len(tab.errors)
    tab.page.goto(url, wait_until="load")
    tab.page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    tab.page.wait_for_load_state("networkidle")
    tab.page.evaluate("() => window.scrollTo(0, 0)")
    tab.page.wait_for_timeout(300)  # console messages of late scripts
    state = tab.page.evaluate(PAGE_STATE)
    state["errors"] = tab.errors[since:]
    state["broken_images"] = [i["src"] for i in state["images"] if not (i["complete"] and i["width"] > 0)]
    return state


def screenshot(tab: Tab, target: Path, full_page: bool = False, max_height: int = 8000) -> Path:
    """Save what a visitor sees first (or the whole page, up to `max_height` px) as a PNG at `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    options = {}
    if full_page:
        size = tab.page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        options = {"full_page": True, "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], max_height)}}
    tab.page.screenshot(path=str(target), **options)
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
