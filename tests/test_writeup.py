"""A baked project after `make train report docs`: the site shows metrics.json's numbers, builds strictly, keeps the
author's prose, and loads cleanly in a real headless Chromium (every image loaded, no console errors, a screenshot).
"""

import csv
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from dl_portfolio import formats
from PIL import Image

from .browser import browser, find_chromium, load, screenshot, serve, visible_text
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
    """A sample-data bow project with one run, reported and built."""
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("writeup")
    answers = {"dataset": "sample", "model": "bow", "tracking": "none", "init_git": "no", "github_username": "jdoe"}
    path = Path(cookiecutter(str(KIT), no_input=True, output_dir=str(out), extra_context=answers))
    make(path, "train", args=f"{SMALL_BOW} --trainer.max_epochs 4 --run_name main")
    make(path, "report", "export", "docs")  # export: the Try it page runs that model
    return path


def metrics_of(project: Path) -> dict:
    return json.loads((project / "reports" / "latest" / "metrics.json").read_text())


# The project's one format for metrics, from its formats.py (loaded by path, as the showcase site does): no copy here.
fmt_pct = formats.fmt_pct


def test_built_pages_and_pitch_show_exactly_the_numbers_of_metrics_json(project):
    m = metrics_of(project)
    with open(project / "reports" / "latest" / "errors.csv", newline="") as f:
        confidences = {fmt_pct(float(r["confidence"])) for r in csv.DictReader(f)}
    fractions = [*m["metrics"].values(), *m["baselines"]["majority"].values()]
    fractions += [v for c in m["per_class"].values() for k, v in c.items() if k != "support"]
    fractions += [m["calibration"]["ece"], m["invariance"]["unchanged"], *(s["accuracy"] for s in m["slices"])]
    allowed = {fmt_pct(v) for v in fractions}
    headline = (fmt_pct(m["metrics"]["accuracy"]), fmt_pct(m["metrics"]["macro_f1"]))
    site = project / "site"
    texts = {name: visible_text(site / path / "index.html") for name, path in PAGES.items()}
    for name, text in texts.items():
        shown = set(PERCENT.findall(text))
        assert shown and shown <= allowed | (confidences if name == "results" else set()), (name, shown - allowed)
        assert "Sample data, not real tweets" in text, name  # sample runs say so on every page
    assert all(h in texts["index"] for h in headline)
    assert "majority class" in texts["index"]  # a bag-of-n-grams run is the baseline: none of its own, none asked for
    assert not any("n-grams baseline" in text or "MODEL=bow" in text for text in texts.values())
    for label, c in m["per_class"].items():
        cells = " ".join([formats.label_name(label), *(fmt_pct(c[k]) for k in ("precision", "recall", "f1"))])
        cells += f" {c['support']}"
        assert cells in texts["results"], cells
    assert f"{m['dataset']['splits']['test']} test examples" in texts["results"]
    readme = (project / "README.md").read_text()
    pitch = readme.split("<!-- pitch:start -->")[1].split("<!-- pitch:end -->")[0]
    assert set(PERCENT.findall(pitch)) <= allowed and all(h in pitch for h in headline)
    assert "Sample data, not real tweets" in pitch
    for key in ("accuracy", "macro_f1"):  # the intervals of metrics.json stand beside the headline numbers
        interval = formats.fmt_ci(m["intervals"][key])
        assert all(interval in text for text in (texts["index"], texts["results"], pitch)), key
    assert "(https://jdoe.github.io/tweet-topic-classifier/)" in pitch
    assert "(https://github.com/jdoe/tweet-topic-classifier)" in pitch
    assert m["links"] == {
        "writeup": "https://jdoe.github.io/tweet-topic-classifier/",
        "repo": "https://github.com/jdoe/tweet-topic-classifier",
    }
    assert m["baselines"]["bow"] is None and m["run"] == "main"


def test_figures_exist_and_open_as_images(project):
    m = metrics_of(project)
    assert set(m["figures"]) == {"confusion_matrix", "learning_curves", "per_class_f1", "reliability"}
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
    assert "mkdocs build --strict" in docs and "zensical build --strict" in docs and "branches: [main]" in docs
    assert "ghp_import --no-jekyll --push --force" in docs and "ready --gate" in docs  # either engine, after `ready`
    mkdocs = yaml.safe_load((project / "mkdocs.yml").read_text())
    assert mkdocs["theme"]["name"] == "material" and "privacy" not in str(mkdocs["plugins"])
    assert {"search.suggest", "content.code.copy"} <= set(mkdocs["theme"]["features"])
    assert len(mkdocs["theme"]["palette"]) == 2  # the light/dark toggle


# --- a real browser -------------------------------------------------------------------------------------------------


def test_site_in_headless_chromium(project, tmp_path):
    headline = fmt_pct(metrics_of(project)["metrics"]["accuracy"])
    with serve(project / "site") as base, browser(find_chromium(), base) as tools:
        for name, path in PAGES.items():
            state = load(tools, base + path)
            assert headline in state["text"], name
            assert state["images"] or name == "model-card"
            assert not state["broken_images"], (name, state["broken_images"])
            assert not state["errors"], (name, state["errors"])
            # What a visitor sees first, then the whole page.
            for filename, full in ((f"{name}.png", False), (f"{name}-full.png", True)):
                target = screenshot(tools, tmp_path / filename, full_page=full)
                with Image.open(target) as image:
                    assert image.size[0] >= 1000 and image.size[1] > 600
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                shutil.copy(target, SCREENSHOTS / filename)
        # The Try it page: `make export` then `make docs` put the int8 model and onnxruntime-web into the site.
        state, page = load(tools, base + "try/"), tools.page
        page.wait_for_selector(".dl-demo[data-state=ready]", timeout=60_000)
        page.fill("#dl-demo-text", "What a goal in the last minute of the match!")
        page.click(".dl-demo button[type=submit]")
        page.wait_for_selector(".dl-demo__result:not([hidden])")
        labels = metrics_of(project)["confusion_matrix"]["labels"]
        assert page.inner_text(".dl-demo__label") in {formats.label_name(x) for x in labels}  # "Sports & gaming"
        bars = page.eval_on_selector_all(".dl-demo__row", "rs => rs.map(r => r.dataset.label)")
        assert sorted(bars) == sorted(labels)  # the ids stay in the page's data
        assert "served with this site" in page.inner_text(".dl-demo__source")
        assert not state["errors"] and not tools.errors, tools.errors
        screenshot(tools, SCREENSHOTS / "try-full.png", full_page=True)
        assert not tools.foreign, f"the site asked third parties for {tools.foreign}"
