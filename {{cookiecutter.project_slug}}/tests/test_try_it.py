"""The write-up as a reviewer first sees it, in a real headless Chromium: a tiny run of this project's model is
trained, reported and exported in a copy of the project; `make docs` builds the site (with MkDocs, then with Zensical)
and takes the README's picture of the Try it page. The page answers with readable class names, the picture is a PNG
of that answer, and the README links it to the built page.

It needs a Chromium (the system's or Playwright's) and the Try it page's npm packages (`npm ci`, or NODE_MODULES=<dir>
with them installed elsewhere): without them it is skipped on a laptop and fails on CI (CI=true), whose workflow
installs both.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dl_portfolio import screenshot
from dl_portfolio.formats import label_name

from .conftest import LABELS, write_splits

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
NODE_MODULES = Path(os.environ.get("NODE_MODULES") or PROJECT / "node_modules")
# Class ids as data files have them; a person reads them as label_name writes them ("House cats").
IDS = {"cats": "house_cats", "dogs": "good_dogs", "fish": "pet_fish"}
NAMES = {"House cats", "Good dogs", "Pet fish"}
GITHUB_API, CORS = "https://api.github.com/", {"Access-Control-Allow-Origin": "*"}
PICTURE = re.compile(r"<!-- picture:start -->\n\[!\[[^\]]+\]\(([^)]+)\)\]\(([^)]+)\)\n<!-- picture:end -->")


def require_browser() -> str:
    """The Chromium to drive; skips the test without one (or without the npm packages), fails it on CI."""
    chromium = screenshot.find_chromium()
    missing = [
        "no Chromium (Debian/Ubuntu: apt install chromium; or python -m playwright install chromium)" * (not chromium),
        f"no {NODE_MODULES}/onnxruntime-web (npm ci)" * (not (NODE_MODULES / "onnxruntime-web").is_dir()),
    ]
    if any(missing):
        (pytest.fail if os.environ.get("CI") else pytest.skip)("; ".join(filter(None, missing)))
    return chromium


def run(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A command in `root`, as a user types it; it must succeed."""
    out = subprocess.run(args, cwd=root, capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def make_docs(root: Path, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`make docs` with this Python and the npm packages the tests use."""
    return run(root, "make", "--no-print-directory", "docs", f"PYTHON={sys.executable}",
               f"NODE_MODULES={NODE_MODULES}", *options, env=env)  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with one tiny bag-of-n-grams run of its model: trained, reported and exported."""
    tmp = tmp_path_factory.mktemp("try_it")
    data = write_splits(tmp / "data")
    for path in data.glob("*.csv"):
        with path.open(newline="") as f:
            rows = [{"text": r["text"], "label": IDS[r["label"]]} for r in csv.DictReader(f)]
        with path.open("w", newline="") as f:
            csv.DictWriter(f, ["text", "label"]).writeheader()
            csv.DictWriter(f, ["text", "label"]).writerows(rows)
    root = tmp / "project"
    root.mkdir()
    shutil.copytree(PROJECT / "configs", root / "configs")
    # docs/ as committed: not the Try it page's library, model or picture from a `make docs` of the project itself
    shutil.copytree(PROJECT / "docs", root / "docs", ignore=shutil.ignore_patterns("vendor", "model", "try-it.png"))
    for name in ("mkdocs.yml", "README.md", "pyproject.toml", "Makefile", "package.json", "package-lock.json"):
        shutil.copy(PROJECT / name, root / name)
    python = [sys.executable, "-m", PACKAGE]
    run(
        root, *python, "train", "--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml",
        "--data.source", "local", "--data.path", str(data), "--data.labels", json.dumps([IDS[x] for x in LABELS]),
        "--data.batch_size", "8", "--model", "configs/model/bow.yaml", "--model.num_buckets", "4096",
        "--model.embed_dim", "16", "--model.optimizer", "sgd", "--model.lr", "5.0", "--trainer.max_epochs", "4",
        "--data.class_noun", "pet", "--tracking.backend", "none", "--trainer.enable_progress_bar", "false",
        "--run_name", "tiny", "--no_baseline",
    )  # fmt: skip
    run(root, *python, "report")
    run(root, *python, "export", "--latency_texts", "5")
    return root


def site_url(root: Path) -> str:
    """mkdocs.yml's site_url: where the site is published."""
    return yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))["site_url"]


@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
def test_make_docs_puts_a_picture_of_the_answering_try_it_page_atop_the_readme(project, engine):
    chromium = require_browser()
    out = make_docs(project, f"ENGINE={engine}", env={"CHROMIUM": chromium})
    assert "end of life" not in out.stderr  # Material's notice, replaced by the project's own line
    note = out.stdout.strip().splitlines()[-1]
    assert note.startswith("docs: " + ("built with Zensical" if engine == "zensical" else "Material for MkDocs gets"))
    picture, link = PICTURE.search((project / "README.md").read_text(encoding="utf-8")).groups()
    assert picture == "docs/assets/try-it.png" and link == site_url(project) + "try/"
    assert (project / "site" / link.removeprefix(site_url(project)) / "index.html").is_file()  # the link works
    png = (project / picture).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (project / "site" / "assets" / "try-it.png").read_bytes() == png
    shown = screenshot.text_of(png)
    assert shown["Title"] == "Try it" and shown["Answer"].rsplit(" (", 1)[0] in NAMES, shown
    assert re.fullmatch(r".+ \(\d+\.\d%\)", shown["Answer"])
    with screenshot.serve(project / "site") as base:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=screenshot.FLAGS, headless=True)
            page, errors, foreign = browser.new_page(), [], []

            def only_the_site(route):
                if route.request.url.startswith(base):
                    return route.continue_()
                if route.request.url.startswith(GITHUB_API):  # the theme asks for the repository's stars
                    return route.fulfill(json={"stargazers_count": 1, "forks_count": 0}, headers=CORS)
                foreign.append(route.request.url)
                return route.abort()

            page.route("**/*", only_the_site)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "try/")
            page.wait_for_selector(".dl-demo[data-state=ready]", timeout=60_000)
            page.fill("#dl-demo-text", shown["Text"])
            page.click(".dl-demo button[type=submit]")
            page.wait_for_selector(".dl-demo__result:not([hidden])")
            answer = f"{page.inner_text('.dl-demo__label')} ({page.inner_text('.dl-demo__confidence')})"
            rows = page.eval_on_selector_all(
                ".dl-demo__row", "rs => rs.map(r => [r.dataset.label, r.querySelector('.dl-demo__name').textContent])"
            )
            noun = page.inner_text(".dl-demo__noun")
            browser.close()
    assert answer == shown["Answer"]  # the picture shows what the page answers
    assert sorted(rows) == sorted([i, label_name(i)] for i in IDS.values())  # ids in the data, names on the page
    assert noun == "pet" and not errors and not foreign, (errors, foreign)  # the noun of the run's data config


def test_without_chromium_make_docs_says_how_to_get_the_picture_and_builds_the_rest(project):
    shutil.rmtree(project / "site", ignore_errors=True)
    (project / "docs" / "assets" / "try-it.png").unlink(missing_ok=True)
    out = make_docs(project, env={"CHROMIUM": "/nonexistent/chromium"})
    lines = [line for line in out.stdout.splitlines() if line.startswith("screenshot:")]
    assert lines == [f"screenshot: no picture for the README: no Chromium here: {screenshot.HOW}"]
    assert (project / "site" / "try" / "index.html").is_file() and (project / "site" / "index.html").is_file()
