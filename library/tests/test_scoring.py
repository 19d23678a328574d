"""Scoring a run: the one inference path, the data fingerprint check, a checkpoint that loads offline on its own."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from dl_portfolio.cli import main as cli
from dl_portfolio.metrics import (
    calibration,
    compare,
    confidence_intervals,
    confusion_matrix,
    majority_baseline,
    per_class,
)
from dl_portfolio.predict import predict
from dl_portfolio.report import report
from dl_portfolio.runner import train

from .conftest import LABELS, new_root, train_args


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (links as their targets), to show a failed command changed nothing."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = str(p.readlink()).encode()
        elif p.is_file():
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def test_metric_math_on_a_hand_computed_case():
    matrix = confusion_matrix([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], 3)
    assert matrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    scores = per_class(matrix, ["a", "b", "c"])
    assert scores["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert scores["c"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    majority = majority_baseline([1, 1, 0], [0, 1, 1, 1], ["a", "b"])  # always "b": F1 of b 6/7, of a 0
    assert majority == pytest.approx({"accuracy": 0.75, "macro_f1": 3 / 7})


def test_report_refuses_data_that_changed_since_training(tmp_path, data_dir, capsys):
    root = new_root(tmp_path / "project")
    train(train_args(root, data_dir, "r1", 1))
    manifest = json.loads((root / "runs" / "r1" / "manifest.json").read_text())
    assert manifest["data"]["test"]["examples"] == 18 and len(manifest["data"]["test"]["sha256"]) == 64
    with (data_dir / "test.csv").open("a", newline="") as f:
        csv.writer(f).writerow(["meow purr whiskers, a new test row", "cats"])
    before = tree(root)
    with pytest.raises(SystemExit) as exit_info:
        cli(["report", "--root", str(root)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.count("\n") == 0
    assert err.startswith(f"error: {data_dir / 'test.csv'} changed since run r1 was trained (test split: 18 examples")
    assert tree(root) == before  # no report folder, no moved link, no page touched


def test_report_scores_offline_from_the_run_folder_alone(tmp_path, data_dir, tiny_bert, monkeypatch):
    backbone = tmp_path / "backbone"
    shutil.copytree(tiny_bert, backbone)
    root = new_root(tmp_path / "project")
    extra = ["--model.encoder", "transformer", "--model.backbone", str(backbone), "--model.optimizer", "adamw"]
    test = train([*train_args(root, data_dir, "t1", 1), *extra, "--model.lr", "1e-3"])
    shutil.rmtree(backbone)  # the machine that scores never saw the backbone
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    m = report(root, root / "runs")
    assert m["metrics"]["accuracy"] == pytest.approx(test["test/acc"], abs=1e-6)
    assert m["metrics"]["macro_f1"] == pytest.approx(test["test/f1_macro"], abs=1e-6)
    # predict goes through the same inference path: the same probabilities for the same texts
    with open(root / "reports" / "t1" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    again = predict(root / "runs" / "t1", [r["text"] for r in rows])
    for row, result in zip(rows, again, strict=True):
        assert result["label"] == row["predicted"]
        assert [result["probs"][label] for label in LABELS] == pytest.approx(
            [float(row[f"p({label})"]) for label in LABELS], abs=1e-6
        )


def test_interval_and_mcnemar_on_fixed_cases():
    gold = [0] * 10 + [1] * 10
    pred = [0] * 8 + [1] * 2 + [1] * 9 + [0]  # 17 of 20 right
    ci = confidence_intervals(gold, pred, 2, seed=0)
    assert ci == confidence_intervals(gold, pred, 2, seed=0)  # seeded: the same interval every time
    assert ci["accuracy"] == pytest.approx({"low": 0.7, "high": 1.0})  # 1,000 percentile resamples of 20 examples
    # McNemar: 10 examples only the model gets right, 2 only the baseline: exact two-sided p = 2 * 79 / 4096.
    gold, model, baseline = [0] * 12, [0] * 10 + [1] * 2, [1] * 10 + [0] * 2
    result = compare(gold, model, baseline, 2)
    assert result["mcnemar"] == {"only_model_right": 10, "only_baseline_right": 2, "p_value": pytest.approx(158 / 4096)}
    assert result["accuracy"]["difference"] == pytest.approx(8 / 12)


def test_calibration_error_by_hand():
    table = calibration([0.95, 0.9, 0.55, 0.6], [True, False, True, True], bins=2)
    # bin (0.5, 1.0]: all four, mean confidence 0.75, accuracy 0.75 -> ECE 0
    assert table["ece"] == pytest.approx(0.0) and table["bins"][0]["count"] == 4
    assert calibration([1.0, 1.0], [False, False], bins=10)["ece"] == pytest.approx(1.0)
