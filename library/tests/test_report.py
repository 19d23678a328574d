"""`report` and `predict` on tiny bag-of-n-grams runs: metrics.json, figures, errors, pages, pitch, prose kept."""

import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dl_portfolio.cli import main as cli
from dl_portfolio.formats import fmt_ci, fmt_int, fmt_mean_std, fmt_pct, fmt_points, label_name
from dl_portfolio.metrics import classification_metrics
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.runs import epoch_history
from dl_portfolio.train import main as train_command
from dl_portfolio.writeup import replace_block, with_blocks
from PIL import Image

from .conftest import LABELS, new_root, train_args, write_splits

KEYS = {
    "project", "run", "task", "dataset", "split", "seed", "epochs", "model", "metrics", "per_class", "confusion_matrix",
    "baselines", "config", "git", "versions", "hardware", "train_wall_seconds", "figures", "links", "display",
    "intervals", "significance", "calibration", "slices", "invariance", "published", "seeds", "sweep",
}  # fmt: skip
PERCENT = re.compile(r"\d+\.\d%")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project copy with a 1-epoch bow run and a 3-epoch bow main run, reported once."""
    tmp = tmp_path_factory.mktemp("report")
    data = write_splits(tmp / "data")
    root = new_root(tmp / "project")
    train(train_args(root, data, "base", 1))
    train(train_args(root, data, "main", 3))
    report(root, root / "runs")
    return root


def metrics_of(root: Path) -> dict:
    return json.loads((root / "reports" / "latest" / "metrics.json").read_text())


def block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def test_metrics_json_has_the_schema_and_reproduces_the_test_metrics(project):
    m = metrics_of(project)
    assert set(m) == KEYS and m["run"] == "main" and m["split"] == "test"
    assert m["task"] == "class classification"  # no class_noun or reference in the tiny data: the neutral word
    assert (project / "reports" / "latest").resolve() == (project / "reports" / "main").resolve()
    assert m["dataset"]["splits"] == {"train": 48, "validation": 18, "test": 18}
    assert m["dataset"]["source"] == "local" and m["dataset"]["is_sample"] is False
    test = json.loads((project / "runs" / "main" / "test_metrics.json").read_text())
    assert m["metrics"]["accuracy"] == pytest.approx(test["test/acc"], abs=1e-6)
    assert m["metrics"]["macro_f1"] == pytest.approx(test["test/f1_macro"], abs=1e-6)
    assert m["confusion_matrix"]["labels"] == LABELS
    assert sum(map(sum, m["confusion_matrix"]["matrix"])) == 18
    assert [m["per_class"][label]["support"] for label in LABELS] == [6, 6, 6]
    assert m["baselines"]["bow"] is None  # a bag-of-n-grams run is the baseline itself: "base" is not its baseline
    assert m["epochs"] == 3
    assert m["baselines"]["majority"]["accuracy"] == pytest.approx(6 / 18)
    assert m["model"] == {"encoder": "bow", "backbone": None, "word_ngrams": 2, "char_ngrams": 0} and m["seed"] == 0
    assert m["config"]["model"]["num_buckets"] == 4096 and m["versions"]["torch"] and m["hardware"]["platform"]
    assert m["train_wall_seconds"] >= 0
    assert m["links"]["writeup"].startswith("https://") and m["links"]["repo"].startswith("https://github.com/")
    fractions = [v for c in m["per_class"].values() for k, v in c.items() if k != "support"]
    assert all(0.0 <= v <= 1.0 for v in [*m["metrics"].values(), *fractions])


def test_figures_are_png_and_svg_images(project):
    report_dir = project / "reports" / "main"
    for name, rel in metrics_of(project)["figures"].items():
        with Image.open(report_dir / rel) as image:
            assert image.format == "PNG" and min(image.size) > 100, name
        svg = ET.parse((report_dir / rel).with_suffix(".svg")).getroot()
        assert svg.tag.endswith("svg")
        for ext in ("png", "svg"):  # the site's copies
            assert (project / "docs" / "assets" / "figures" / f"{name}.{ext}").is_file()


def test_errors_are_the_most_confident_mistakes_and_predictions_cover_the_test_set(project):
    report_dir = project / "reports" / "main"
    with open(report_dir / "predictions.csv", newline="") as f:
        predictions = list(csv.DictReader(f))
    with open(report_dir / "errors.csv", newline="") as f:
        errors = list(csv.DictReader(f))
    assert len(predictions) == 18
    for row in predictions:
        assert sum(float(row[f"p({label})"]) for label in LABELS) == pytest.approx(1.0, abs=1e-5)
    wrong = [r for r in predictions if r["gold"] != r["predicted"]]
    assert len(errors) == len(wrong) and all(r["gold"] != r["predicted"] for r in errors)
    confidence = [float(r["confidence"]) for r in errors]
    assert confidence == sorted(confidence, reverse=True)
    assert list(errors[0]) == ["text", "gold", "predicted", "confidence"]


def test_pages_and_pitch_show_exactly_the_numbers_of_metrics_json(project):
    m = metrics_of(project)
    docs = project / "docs"
    with open(project / "reports" / "main" / "errors.csv", newline="") as f:
        confidences = {fmt_pct(float(r["confidence"])) for r in csv.DictReader(f)}
    fractions = [*m["metrics"].values()]
    fractions += list(m["baselines"]["majority"].values())
    fractions += [v for c in m["per_class"].values() for k, v in c.items() if k != "support"]
    fractions += [m["calibration"]["ece"], m["invariance"]["unchanged"], *(s["accuracy"] for s in m["slices"])]
    allowed = {fmt_pct(v) for v in fractions}
    pages = {p.name: p.read_text() for p in (docs / "index.md", docs / "results.md", docs / "model-card.md")}
    pitch = block((project / "README.md").read_text(), "pitch")
    for name, text in [*pages.items(), ("README pitch", pitch)]:
        shown = set(PERCENT.findall(text))
        assert shown and shown <= allowed | confidences, (name, shown - allowed - confidences)
    for text in (block(pages["index.md"], "summary"), block(pages["index.md"], "results"), pitch):
        assert fmt_pct(m["metrics"]["accuracy"]) in text and fmt_pct(m["metrics"]["macro_f1"]) in text
    for label, c in m["per_class"].items():
        scores = " | ".join(fmt_pct(c[k]) for k in ("precision", "recall", "f1"))
        row = f"| {label_name(label)} | {scores} | {fmt_int(c['support'])} |"
        assert row in pages["results.md"]
    assert m["links"]["writeup"] in pitch and m["links"]["repo"] in pitch
    assert pages["results.md"].startswith("<!-- Generated by `make report`")
    assert pages["model-card.md"].startswith("<!-- Generated by `make report`")
    for heading in ("Intended use", "Data", "Metrics", "Limitations", "Ethical considerations"):
        assert f"\n## {heading}\n" in pages["model-card.md"]
    assert "Sample data" not in pitch + "".join(pages.values())  # local data: no sample warning
    for key in ("accuracy", "macro_f1"):  # every headline number carries its interval, as metrics.json has it
        shown, interval = fmt_pct(m["metrics"][key]), fmt_ci(m["intervals"][key])
        name = {"accuracy": "accuracy", "macro_f1": "macro-F1"}[key]
        for text in (block(pages["index.md"], "summary"), pitch):
            assert f"**{shown} {name}** (95% CI {interval})" in text
        assert f"{shown} (95% CI {interval})" in pages["model-card.md"]
        for text in (block(pages["index.md"], "results"), pages["results.md"]):  # the table: `95% CI` in its header
            assert f"{shown} ({interval})" in text and "(95% CI)" in text
    gain = m["significance"]["majority"]["macro_f1"]
    stated = f"{fmt_points(gain['difference'])} macro-F1 points compared with always predicting the most frequent"
    stated += f" class (95% CI {fmt_ci(gain, points=True)})"
    assert stated in block(pages["index.md"], "summary")
    # The run is a bag of n-grams: no page asks it to train one, or compares it with one.
    assert not any("MODEL=bow" in text or "n-grams baseline" in text for text in [*pages.values(), pitch])


def test_seeds_train_as_one_group_and_the_report_shows_their_spread(tmp_path, data_dir):
    root = new_root(tmp_path / "project")
    runs = root / "runs"
    train_command([*train_args(root, data_dir, "grp", 2), "--seeds", "3", "--no_baseline"])  # `make train SEEDS=3`
    names = [f"grp-seed{s}" for s in range(3)]
    assert sorted(p.name for p in runs.iterdir()) == [*names, "latest"]
    tests = [json.loads((runs / n / "test_metrics.json").read_text()) for n in names]
    manifests = [json.loads((runs / n / "manifest.json").read_text()) for n in names]
    assert [(m["seed"], m["group"]) for m in manifests] == [(0, "grp"), (1, "grp"), (2, "grp")]
    best = max(range(3), key=lambda s: (tests[s]["best_val_f1_macro"], -s))  # chosen on validation, never test
    assert os.readlink(runs / "latest") == names[best]

    m = report(root, runs)
    seeds, accs, f1s = m["seeds"], [t["test/acc"] for t in tests], [t["test/f1_macro"] for t in tests]
    assert m["run"] == seeds["selected"] == names[best] and seeds["group"] == "grp"
    for key, values in (("accuracy", accs), ("macro_f1", f1s)):  # the sample standard deviation
        spread = {"mean": statistics.fmean(values), "std": statistics.stdev(values)}
        assert seeds[key] == pytest.approx(spread)
    spread = f"{fmt_mean_std(seeds['accuracy'])} accuracy and {fmt_mean_std(seeds['macro_f1'])} macro-F1"
    assert f"Over 3 seeds of the same config: {spread}" in block((root / "docs" / "index.md").read_text(), "summary")
    page = (root / "docs" / "results.md").read_text()
    for seed, (name, t) in enumerate(zip(names, tests, strict=True)):
        headline = " (headline)" if seed == best else ""
        scores = " | ".join(fmt_pct(t[k]) for k in ("best_val_f1_macro", "test/acc", "test/f1_macro"))
        assert f"| `{name}`{headline} | {seed} | {scores} |" in page


def test_rerunning_the_report_keeps_the_authors_prose(project, tmp_path):
    root = new_root(tmp_path / "copy")
    shutil.copytree(project / "runs", root / "runs", symlinks=True)
    index, readme = root / "docs" / "index.md", root / "README.md"
    report(root, root / "runs", run="main")
    mine = "\nI wrote this paragraph myself, with a 12.3% made-up number.\n"
    edited = index.read_text().replace("## Problem\n", "## The problem I chose\n" + mine)
    edited = replace_block(edited, "results", "stale numbers from an old run")
    index.write_text(edited)
    readme.write_text(readme.read_text() + "\n## My notes\n\nStays here.\n")
    report(root, root / "runs", run="base")
    text = index.read_text()
    assert "## The problem I chose\n" + mine in text and "stale numbers" not in text
    assert fmt_pct(metrics_of(root)["metrics"]["accuracy"]) in block(text, "results")
    assert metrics_of(root)["run"] == "base" and "## My notes\n\nStays here.\n" in readme.read_text()


def test_missing_markers_leave_the_text_unchanged():
    page = "# Mine\n\n<!-- results:start -->\nold\n"
    assert with_blocks(page, {"results": "new"}) == (page, ["results"])
    doubled = "<!-- a:start -->x<!-- a:end --><!-- a:start -->y<!-- a:end -->"
    assert replace_block(doubled, "a", "z") is None
    assert replace_block("p<!-- a:start -->x<!-- a:end -->q", "a", "z") == "p<!-- a:start -->\nz\n<!-- a:end -->q"


def test_classification_metrics_by_hand():
    scores = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["a", "b", "c"])
    assert scores["accuracy"] == 0.75 and scores["matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert scores["per_class"]["b"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    # "c" is neither in the gold labels nor predicted: macro-F1 averages over a and b only, like torchmetrics.
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert scores["weighted_f1"] == pytest.approx((2 / 3 * 2 + 0.8 * 2) / 4)


def test_epoch_history_merges_attempts_and_later_attempts_win(tmp_path):
    header = "epoch,step,train/loss,train/f1_macro,val/loss,val/f1_macro,test/acc\n"
    first = "0,5,,,1.0,0.3,\n0,5,1.2,0.2,,,\n1,10,,,0.9,0.4,\n1,10,1.0,0.3,,,\n"
    second = "1,10,,,0.8,0.5,\n1,10,0.9,0.45,,,\n2,15,,,0.7,0.6,\n2,15,0.8,0.5,,,\n3,16,,,,,0.6\n"
    for n, rows in enumerate((first, second)):
        folder = tmp_path / "logs" / f"attempt_{n}"
        folder.mkdir(parents=True)
        (folder / "metrics.csv").write_text(header + rows)
    history = epoch_history(tmp_path)
    assert [h["epoch"] for h in history] == [0, 1, 2]  # the test row (no train/val values) is left out
    assert history[1] == {"epoch": 1, "train/loss": 0.9, "train/f1_macro": 0.45, "val/loss": 0.8, "val/f1_macro": 0.5}


def test_no_run_and_no_checkpoint_are_one_line_errors(tmp_path, capsys):
    root = new_root(tmp_path / "empty")
    with pytest.raises(SystemExit) as exit_info:
        cli(["report", "--root", str(root)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: no run yet in {root / 'runs'}/: run `make train` first."
    (root / "runs" / "broken").mkdir(parents=True)
    (root / "runs" / "broken" / "config.yaml").write_text("data: {}\n")
    with pytest.raises(SystemExit):
        cli(["report", "--root", str(root), "--run", "broken"])
    assert "has no checkpoints/best.ckpt" in capsys.readouterr().err


def test_predict_prints_label_and_probabilities(project, tmp_path, capsys):
    runs = str(project / "runs")
    cli(["predict", "--runs_dir", runs, "--text", "meow purr whiskers kitten litter tabby"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] in LABELS and len(lines) == 1 + len(LABELS)
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(LABELS)
    texts = tmp_path / "texts.txt"
    texts.write_text("woof bark leash\n\ntank fins gills\n")
    out = tmp_path / "predictions.csv"
    cli(["predict", "--runs_dir", runs, "--run", "base", "--file", str(texts), "--output", str(out)])
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and printed[0].endswith("\twoof bark leash")
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == ["woof bark leash", "tank fins gills"] and rows[0]["label"] in LABELS


@pytest.mark.parametrize("reported", [False, True], ids=["before-report", "after-report"])
def test_docs_build_strictly(project, tmp_path, reported):
    root = project if reported else new_root(tmp_path / "fresh")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "model-card" / "index.html").is_file()
