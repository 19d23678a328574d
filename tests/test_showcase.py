"""The kit's showcase site: options page from cookiecutter.json, gallery numbers equal to the examples' metrics.json
(a bow example really baked, trained and reported by examples.py, on the sample and on a local data folder),
portfolio cards from a showcase.yml, strict builds with and without examples, and a real headless Chromium.
"""

import copy
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
from dl_portfolio import baseline, formats
from PIL import Image

from showcase_site import common, gallery, options_page

from . import browser
from .conftest import KIT

SITE = KIT / "showcase_site"
PERCENT = re.compile(r"\d+\.\d%")
# Tiny runs: the bag-of-n-grams model with a smaller hash table, 3 epochs (seconds each on a CI core).
QUICK = "--trainer.max_epochs 3 --model.num_buckets 65536"
SCREENSHOTS = KIT / "build" / "screenshots"
GENERATED = ["site", "options.md", "gallery", "portfolio", "_snippets"]


def python(*args: str, cwd: Path = KIT) -> subprocess.CompletedProcess:
    """Run the kit's Python (scripts of showcase_site/, mkdocs) and capture its output."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def fresh_site(tmp: Path) -> Path:
    """A copy of showcase_site/ as a clean checkout has it (nothing generated)."""
    return Path(shutil.copytree(SITE, tmp / "showcase_site", ignore=shutil.ignore_patterns(*GENERATED, "__pycache__")))


def generate(site: Path, examples: Path, portfolio: Path, strict: bool = True) -> subprocess.CompletedProcess:
    args = ["site", "--site", str(site), "--examples", str(examples), "--portfolio", str(portfolio)]
    return ok(python(str(SITE / "build.py"), *args, *(["--strict"] if strict else [])))


def mkdocs_build(config: Path) -> Path:
    """`mkdocs build --strict`; returns the built site folder."""
    ok(python("-m", "mkdocs", "build", "--strict", "-q", "-f", str(config)))
    return config.parent / "site"


def fractions(m: dict) -> list[float]:
    """Every fraction of a metrics.json a page may show."""
    out = [*m["metrics"].values(), *m["baselines"]["majority"].values()]
    if m["baselines"].get("bow"):
        out += [m["baselines"]["bow"]["accuracy"], m["baselines"]["bow"]["macro_f1"]]
    return out + [v for c in m["per_class"].values() for k, v in c.items() if k != "support"]


# --- a real example: examples.py bakes, trains and reports the bow project -----------------------------------------


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """examples.py --only bow with tiny epochs, on the sample data and on a local folder of three topics."""
    tmp = tmp_path_factory.mktemp("showcase")
    data = tmp / "three-topics"
    data.mkdir()
    sample = KIT / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}" / "sample_data"
    keep = {"sports_&_gaming", "science_&_technology", "pop_culture"}
    for split in ("train", "validation", "test"):
        with open(sample / f"{split}.csv", newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["label"] in keep]
        with open(data / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["text", "label"])
            writer.writeheader()
            writer.writerows(rows)
    out = tmp / "examples"
    ok(python(str(SITE / "examples.py"), "--out", str(out), "--only", "bow", "--data", str(data), "--args", QUICK))
    return out


@pytest.fixture(scope="module")
def built(examples, tmp_path_factory) -> dict:
    """The showcase site generated from the real examples and a showcase.yml, built strictly."""
    tmp = tmp_path_factory.mktemp("site")
    site = fresh_site(tmp)
    metrics = examples / json.loads((examples / "showcase.json").read_text())["examples"][0]["runs"][0]["metrics"]
    portfolio = tmp / "me" / "showcase.yml"
    portfolio.parent.mkdir()
    shutil.copy(metrics.parent / "figures" / "learning_curves.png", portfolio.parent / "birds.png")
    portfolio.write_text(
        yaml.safe_dump(
            {
                "title": "Jane Doe: projects",
                "intro": "Models I built.",
                "projects": [
                    {"metrics": os.path.relpath(metrics, portfolio.parent)},  # relative to showcase.yml
                    {
                        "title": "Bird song classifier",
                        "task": "audio classification",
                        "metric": {"name": "top-1 accuracy", "value": 0.912},
                        "image": "birds.png",
                        "links": {"writeup": "https://jdoe.github.io/birdsong/", "repo": "https://github.com/jdoe/b"},
                    },
                ],
            }
        )
    )
    generate(site, examples, portfolio)
    return {"site": site, "html": mkdocs_build(site / "mkdocs.yml"), "examples": examples, "portfolio": portfolio}


def gallery_entries(examples: Path) -> list[tuple[str, dict, Path]]:
    """(page name, metrics, metrics.json path) of every run examples.py made."""
    manifest = json.loads((examples / "showcase.json").read_text())
    return [
        (f"{ex['id']}-{run['run']}", json.loads((examples / run["metrics"]).read_text()), examples / run["metrics"])
        for ex in manifest["examples"]
        for run in ex["runs"]
    ]


def test_examples_are_real_reports_of_baked_projects(examples):
    entries = gallery_entries(examples)
    assert [page for page, _, _ in entries] == ["bow-sample", "bow-three-topics"]
    (_, sample, _), (_, local, path) = entries
    assert sample["dataset"]["is_sample"] and not local["dataset"]["is_sample"]
    assert local["dataset"]["name"] == "three-topics"
    assert sorted(local["confusion_matrix"]["labels"]) == ["pop_culture", "science_&_technology", "sports_&_gaming"]
    assert sample["model"]["encoder"] == local["model"]["encoder"] == "bow"
    assert sample["config"]["trainer"]["max_epochs"] == 3
    for rel in local["figures"].values():
        assert (path.parent / rel).is_file()
    assert (examples / "bow" / "tweet-topic-bag-of-n-grams" / "writeups" / "sample" / "index.html").is_file()


def test_gallery_pages_show_exactly_the_numbers_of_metrics_json(built):
    html_dir, shown_anywhere = built["html"], set()
    for page, m, _ in gallery_entries(built["examples"]):
        text = browser.visible_text(html_dir / "gallery" / page / "index.html")
        shown = set(PERCENT.findall(text))
        allowed = {formats.fmt_pct(v) for v in fractions(m)}
        assert shown and shown <= allowed, (page, shown - allowed)
        for key in ("accuracy", "macro_f1", "weighted_f1"):
            assert formats.fmt_pct(m["metrics"][key]) in text
        for label, c in m["per_class"].items():
            pcts = (formats.fmt_pct(c[k]) for k in ("precision", "recall", "f1"))
            row = " ".join([formats.label_name(label), *pcts, formats.fmt_int(c["support"])])  # as a person reads it
            assert row in text, row
        assert f"{formats.fmt_int(m['dataset']['splits']['test'])} test examples of {m['dataset']['name']}" in text
        assert ("Sample data, not real tweets" in text) == m["dataset"]["is_sample"], page
        shown_anywhere |= allowed
        index = browser.visible_text(html_dir / "gallery" / "index.html")
        row = " ".join(
            [m["dataset"]["name"], formats.fmt_int(m["dataset"]["splits"]["test"])]
            + [formats.fmt_pct(v) for v in (m["metrics"]["accuracy"], m["metrics"]["macro_f1"])]
            + [formats.fmt_pct(m["baselines"]["majority"]["macro_f1"])]
        )
        assert row in index, row
    index = browser.visible_text(html_dir / "gallery" / "index.html")
    assert set(PERCENT.findall(index)) <= shown_anywhere
    assert "Sample data, not real tweets" in index  # one of the runs is on the sample


def as_text(markdown: str) -> str:
    """What a browser shows of a line of Markdown with bold and inline code (visible_text's spacing)."""
    return re.sub(r"\s+", " ", markdown.replace("**", " ").replace("`", " ")).strip()


def test_gallery_words_are_the_reports_own(built):
    bow_words = "bag of n-grams (hashed word 1–2-grams and character 3–5-grams, fastText-style)"
    for page, m, _ in gallery_entries(built["examples"]):
        d = m["display"]
        assert d["model"] == bow_words  # the preset's n-grams, in the report's words
        text = browser.visible_text(built["html"] / "gallery" / page / "index.html")
        for phrase in (d["model"], d["headline"], d["hardware"], d["train_wall"], d["versions"]):
            assert as_text(phrase) in text, phrase
        for row in d["comparison"]:  # the report's baseline table, row by row as it gave them, intervals beside
            cells = [row[k] + (f" ({row[k + '_ci']})" if row.get(k + "_ci") else "") for k in ("accuracy", "macro_f1")]
            assert as_text(" ".join([row["model"], *cells])) in text, row
        assert "hashed word n-grams, fastText-style" not in text
    index = browser.visible_text(built["html"] / "gallery" / "index.html")
    assert all(m["display"]["train_wall"] in index for _, m, _ in gallery_entries(built["examples"]))


def test_a_model_without_its_own_baseline_is_compared_with_a_bow_example_that_earned_it(examples):
    _, entries = gallery.load_examples(examples)
    bow_sample, bow_local = entries
    # The sample run as a transformer example's would be: no bow run in its project, a published row, intervals.
    entry = copy.deepcopy(bow_sample)
    entry["page"], entry["example"] = "transformer-sample", {**entry["example"], "id": "transformer", "title": "MiniLM"}
    entry["metrics"]["model"] = {"encoder": "transformer", "backbone": "models/all-MiniLM-L6-v2"}
    d = entry["metrics"]["display"]
    d |= {"accuracy_ci": "85.8–89.0", "macro_f1_ci": "84.1–88.0"}
    model = {"kind": "model", "model": "this model: fine-tuned all-MiniLM-L6-v2 transformer", "accuracy": "88.4%"}
    model |= {"macro_f1": "87.0%", "accuracy_ci": "85.8–89.0"}
    published = {"kind": "published", "model": "roberta-base (published)[^published]", "accuracy": "n/a"}
    majority = {"kind": "majority", "model": "majority class", "accuracy": "16.7%", "macro_f1": "4.8%"}
    d["comparison"] = [model, published | {"macro_f1": "59.9%", "macro_f1_ci": "57.1–62.3"}, majority]
    entry["metrics"]["published"] = {"citation": "Antypas et al. (2022)", "split": "test_2021", "url": "https://x.org"}
    # The bow example trained 3 epochs here (QUICK): no baseline, so no comparison with it.
    assert bow_sample["metrics"]["epochs"] == 3
    assert "same data" not in gallery.gallery_entry_page(entry, [entry, bow_sample, bow_local])
    # As `make showcase` trains it (its preset's 30 epochs, better than the majority class), it is compared.
    bow_sample["metrics"]["epochs"] = baseline.BOW_EPOCHS
    bow_sample["metrics"]["significance"]["majority"]["macro_f1"] |= {"low": 0.05, "high": 0.4}
    page = gallery.gallery_entry_page(entry, [entry, bow_sample, bow_local])
    other = bow_sample["metrics"]["metrics"]
    assert (
        "\n".join(
            [
                "| **this model: fine-tuned all-MiniLM-L6-v2 transformer** | **88.4% (85.8–89.0)** | **87.0%** |",
                "| [Bag of n-grams baseline](../bow-sample/index.md) example, same data "
                f"| {formats.fmt_pct(other['accuracy'])} | {formats.fmt_pct(other['macro_f1'])} |",
                "| roberta-base (published)[^published] | n/a | 59.9% (57.1–62.3) |",
                "| majority class | 16.7% | 4.8% |",
                "",
                "[^published]: Antypas et al. (2022) (test_2021): <https://x.org>",
            ]
        )
        in page
    )
    assert "bow-three-topics" not in page  # other data: not comparable
    assert '<span class="sc-metric__ci">95% CI 85.8–89.0</span>' in page
    assert '<span class="sc-metric__ci">95% CI 84.1–88.0</span>' in page
    assert "same data" not in gallery.gallery_entry_page(bow_sample, entries)  # a bow run is its own baseline


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("display", " has no `display` block: an older `make report` wrote it; run `make report` again."),
        ("display.per_class", ": its `display` block has no per_class; run `make report` again."),
    ],
)
def test_a_metrics_json_without_display_block_is_one_clear_line(examples, tmp_path, drop, message):
    (_, m, _), *_ = gallery_entries(examples)
    del (m["display"] if drop.startswith("display.") else m)[drop.split(".")[-1]]
    (tmp_path / "old.json").write_text(json.dumps(m))
    showcase = tmp_path / "showcase.yml"
    showcase.write_text(yaml.safe_dump({"projects": [{"metrics": "old.json"}]}))
    done = python(str(SITE / "build.py"), "portfolio", str(showcase), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and not (tmp_path / "out").exists()
    assert done.stderr == f"error: {(tmp_path / 'old.json').resolve()}{message}\n"


def test_one_home_for_the_formats():
    """Each function of the library's formats.py is defined there only: the site imports it, nothing copies it."""
    names = [n for n, f in vars(formats).items() if callable(f) and getattr(f, "__module__", "") == formats.__name__]
    assert {"fmt_pct", "fmt_int", "fmt_seconds", "model_name", "hardware_line"} <= set(names)
    defines = re.compile(rf"^\s*def ({'|'.join(names)})\(", re.MULTILINE)
    roots = [SITE, KIT / "tests", KIT / "bench", KIT / "hooks", KIT / "{{cookiecutter.project_slug}}", KIT / "library"]
    files = [path for root in roots for path in root.rglob("*.py")]
    homes = {str(path.relative_to(KIT)) for path in files if defines.search(path.read_text(encoding="utf-8"))}
    assert homes == {"library/src/dl_portfolio/formats.py"}
    assert Path(formats.__file__) == KIT / homes.pop()


def test_gallery_has_the_figures_thumbnails_and_write_ups(built):
    for page, m, path in gallery_entries(built["examples"]):
        folder = built["html"] / "gallery" / page
        for rel in m["figures"].values():
            assert (folder / "figures" / Path(rel).name).read_bytes() == (path.parent / rel).read_bytes()
        with Image.open(folder / "thumb.png") as thumb:
            assert thumb.format == "PNG" and 300 < thumb.width <= common.THUMB_WIDTH
        assert 'href="writeup/"' in (folder / "index.html").read_text()  # mkdocs writes writeup/index.html so
        writeup = browser.visible_text(folder / "writeup" / "index.html")
        assert formats.fmt_pct(m["metrics"]["accuracy"]) in writeup


def test_options_page_lists_every_key_and_choice_of_cookiecutter_json(built):
    template = json.loads((KIT / "cookiecutter.json").read_text())
    text = browser.visible_text(built["html"] / "options" / "index.html")
    for key, value in template.items():
        assert key in text, key
        for choice in value if isinstance(value, list) and not key.startswith("_") else []:
            assert choice in text, (key, choice)
    for key, prompt in template["__prompts__"].items():
        assert f"{key} {prompt}" in text, key  # the summary table: key, then its prompt
    assert "tweet-topic-classifier (derived)" in text  # derived defaults rendered by cookiecutter itself


def test_options_notes_cannot_drift_from_cookiecutter_json():
    template = json.loads((KIT / "cookiecutter.json").read_text())
    notes = yaml.safe_load((SITE / "options.yml").read_text())
    assert set(notes) <= set(template)
    with pytest.raises(common.ShowcaseError, match="no longer has"):
        options_page.options_page(template, {**notes, "gone_key": {"note": "x"}})
    with pytest.raises(common.ShowcaseError, match="do not exist"):
        options_page.options_page(template, {**notes, "model": {"choices": {"cnn": "x"}}})


def test_portfolio_cards(built):
    (_, m, _), *_ = gallery_entries(built["examples"])
    page = built["html"] / "portfolio" / "index.html"
    text, source = browser.visible_text(page), page.read_text()
    assert source.count('class="sc-card sc-card--portfolio"') == 2
    assert "Jane Doe: projects" in text and "Models I built." in text
    card = (
        f"{m['project']} {m['task']} Sample data, not real tweets {formats.fmt_pct(m['metrics']['accuracy'])} accuracy"
    )
    assert card in text
    assert f"{formats.fmt_pct(m['metrics']['macro_f1'])} macro-F1" in text
    assert f'href="{m["links"]["writeup"]}"' in source and f'href="{m["links"]["repo"]}"' in source
    assert "Bird song classifier audio classification 91.2% top-1 accuracy" in text
    assert 'href="https://jdoe.github.io/birdsong/"' in source and 'href="https://github.com/jdoe/b"' in source
    thumbs = re.findall(r'<img class="sc-card__thumb" src="([^"]+)"', source)
    assert len(thumbs) == 2
    for src in thumbs:
        with Image.open(page.parent / src) as image:
            assert image.format == "PNG" and image.width <= common.THUMB_WIDTH


@pytest.mark.parametrize(
    ("project", "message"),
    [
        ({"title": "X", "metric": {"name": "accuracy", "value": 87}}, "is not a fraction in [0, 1]"),
        ({"metrics": "nowhere/reports/latest/metrics.json"}, "no metrics.json at"),
        ({"title": "X", "stars": 5}, "unknown key(s) ['stars']"),
        ({"task": "no title"}, "or at least `title`"),
        ({"title": "X", "links": {"writeup": "javascript:alert(1)"}}, "http(s) URLs or relative paths"),
    ],
)
def test_portfolio_mistakes_are_one_clear_line(tmp_path, project, message):
    showcase = tmp_path / "showcase.yml"
    showcase.write_text(yaml.safe_dump({"projects": [project]}))
    done = python(str(SITE / "build.py"), "portfolio", str(showcase), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: showcase.yml, project 1: ") and done.stderr.count("\n") == 1
    assert message in done.stderr


def test_stand_alone_portfolio_site_builds_strictly(built, tmp_path):
    ok(python(str(SITE / "build.py"), "portfolio", str(built["portfolio"]), "--out", str(tmp_path / "mine")))
    config = yaml.safe_load((tmp_path / "mine" / "mkdocs.yml").read_text())
    assert config["site_name"] == "Jane Doe: projects" and config["theme"]["name"] == "material"
    text = browser.visible_text(mkdocs_build(tmp_path / "mine" / "mkdocs.yml") / "index.html")
    assert "Bird song classifier" in text and "91.2%" in text


def test_fresh_checkout_builds_strictly_and_says_how_to_fill_the_gallery(tmp_path):
    site = fresh_site(tmp_path)
    # The copy's showcase.yml names ../build/showcase/...: examples this fresh checkout has not built.
    done = generate(site, tmp_path / "no-examples", site / "showcase.yml", strict=False)
    assert "no metrics.json" in done.stdout
    html_dir = mkdocs_build(site / "mkdocs.yml")
    assert "make showcase" in browser.visible_text(html_dir / "gallery" / "index.html")
    portfolio = browser.visible_text(html_dir / "portfolio" / "index.html")
    assert "Not built yet" in portfolio and not PERCENT.search(portfolio)
    assert "once make showcase has trained" in browser.visible_text(html_dir / "index.html")
    with pytest.raises(AssertionError):  # --strict refuses a showcase.yml whose metrics.json is missing
        generate(site, tmp_path / "no-examples", site / "showcase.yml", strict=True)


def test_home_page_shows_the_pitch_a_real_report_wrote(built):
    readme = (built["examples"] / "bow" / "tweet-topic-bag-of-n-grams" / "README.md").read_text()
    pitch = readme.split("<!-- pitch:start -->")[1].split("<!-- pitch:end -->")[0]
    text = browser.visible_text(built["html"] / "index.html")
    headline = PERCENT.findall(pitch)
    assert headline and all(h in text for h in headline)
    assert set(PERCENT.findall(text)) == set(headline)


def test_pages_workflow_and_make_target():
    workflow = yaml.safe_load((KIT / ".github" / "workflows" / "pages.yml").read_text())
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on["push"]["branches"] == ["main"]
    steps = workflow["jobs"]["build"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make showcase" in runs and "download.pytorch.org/whl/cpu" in runs
    assert runs.index("torch") < runs.index("make showcase")
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") for s in steps)
    assert (
        next(s for s in steps if "upload-pages-artifact" in s.get("uses", ""))["with"]["path"] == "showcase_site/site"
    )
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert "secrets." not in (KIT / ".github" / "workflows" / "pages.yml").read_text()
    makefile = (KIT / "Makefile").read_text()
    target = makefile.split("\nshowcase:")[1].split("\n\n")[0]
    assert "examples.py" in target and "$(if $(DATA),--data $(DATA))" in target
    assert "mkdocs build --strict -f showcase_site/mkdocs.yml" in target


def test_site_in_headless_chromium(built):
    chromium = browser.find_chromium()
    (first, m, _), *_ = gallery_entries(built["examples"])
    pages = {
        "home": ("", "What a project gets"),
        "gallery": ("gallery/", formats.fmt_pct(m["metrics"]["accuracy"])),
        "gallery-entry": (f"gallery/{first}/", "Per topic"),
        "gallery-writeup": (f"gallery/{first}/writeup/", formats.fmt_pct(m["metrics"]["accuracy"])),
        "portfolio": ("portfolio/", "Bird song classifier"),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with browser.serve(built["html"]) as base, browser.browser(chromium, base) as tools:
        for name, (path, expected) in pages.items():
            state = browser.load(tools, base + path)
            assert expected in state["text"], name
            assert state["images"] or name == "home", name
            assert not state["broken_images"], (name, state["broken_images"])
            assert not state["errors"], (name, state["errors"])
            browser.screenshot(tools, SCREENSHOTS / f"showcase-{name}.png")
            shot = browser.screenshot(tools, SCREENSHOTS / f"showcase-{name}-full.png", full_page=True)
            with Image.open(shot) as image:
                assert image.size[0] >= 1000 and image.size[1] > 600
        assert not tools.foreign, f"the site asked third parties for {tools.foreign}"
