"""Which bag-of-n-grams run a model is compared with, and whether it earned that: trained as its preset says (its
epochs, the same data fingerprint) and better than the majority class. Otherwise the pages say why and no page
claims a gain over it; a bag-of-n-grams run has no bag-of-n-grams baseline."""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from dl_portfolio.baseline import BOW_EPOCHS, beats_majority, candidate
from dl_portfolio.formats import fmt_pct
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.verify import verify

from .conftest import export_run_args, new_root, train_args, write_splits

DATA = {"source": "local", "path": "data"}
SPLITS = ("train", "validation", "test")


def fake_run(runs: Path, name: str, encoder: str, epochs: int, sha: str = "a", data: dict = DATA, age: int = 0):
    """A finished run folder as `train` leaves it, `age` seconds old."""
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"model": {"encoder": encoder}, "data": data}))
    test = {"checkpoint": "checkpoints/best.ckpt", "epochs": epochs, "test/acc": 0.5, "test/f1_macro": 0.4}
    (folder / "test_metrics.json").write_text(json.dumps(test))
    (folder / "manifest.json").write_text(json.dumps({"data": {s: {"sha256": sha} for s in SPLITS}}))
    os.utime(folder / "test_metrics.json", (1e9 - age, 1e9 - age))
    return folder


def test_the_baseline_trained_as_its_preset_says_is_preferred_and_others_say_what_they_lack(tmp_path):
    runs = tmp_path / "runs"
    main = fake_run(runs, "main", "transformer", 4)
    data = {s: {"sha256": "a"} for s in SPLITS}
    fake_run(runs, "full", "bow", BOW_EPOCHS, age=100)
    fake_run(runs, "short", "bow", 1, age=10)  # newer, but undertrained
    fake_run(runs, "elsewhere", "bow", BOW_EPOCHS, data={**DATA, "path": "other"})  # other data config: never
    scores = {"accuracy": 0.5, "macro_f1": 0.4}
    assert candidate(runs, main, {"model": {"encoder": "transformer"}, "data": DATA}, data) == {
        "run": "full",
        **scores,
        "epochs": BOW_EPOCHS,
        "why": None,
    }
    shutil.rmtree(runs / "full")
    found = candidate(runs, main, {"model": {"encoder": "transformer"}, "data": DATA}, data)
    assert found == {"run": "short", **scores, "epochs": 1, "why": "trained 1 of the 30 epochs its preset needs"}
    fake_run(runs, "stale", "bow", BOW_EPOCHS, sha="b", age=1)  # same config, but the data changed since
    found = candidate(runs, main, {"model": {"encoder": "transformer"}, "data": DATA}, data)
    assert found["run"] == "stale" and found["why"] == "was trained on other data (its data fingerprint differs)"
    assert candidate(runs, main, {"model": {"encoder": "bow"}, "data": DATA}, data) is None  # it is the baseline


def test_a_baseline_must_beat_the_majority_class_with_its_interval_above_zero():
    bow, majority = {"macro_f1": 0.051}, {"macro_f1": 0.048}
    assert beats_majority(bow, {"difference": 0.2, "low": 0.01, "high": 0.3}, majority) is None
    assert beats_majority(bow, {"difference": 0.003, "low": -0.02, "high": 0.03}, majority) == (
        "does not beat always predicting the most frequent class (macro-F1 5.1% vs 4.8%; the gain's 95% CI -2.0 to "
        "+3.0 includes zero)"
    )


@pytest.fixture(scope="module")
def reported(tmp_path_factory, tiny_bert) -> tuple[Path, Path]:
    """A tiny-BERT run reported beside a 1-epoch bag of n-grams (copied), then beside a 30-epoch one."""
    tmp = tmp_path_factory.mktemp("baseline")
    data = write_splits(tmp / "data")
    root = new_root(tmp / "project")
    train([*train_args(root, data, "short", 1)])
    train(export_run_args(root, data, "main", "transformer", tiny_bert))
    report(root, root / "runs", "main")
    short = Path(shutil.copytree(root, tmp / "short", symlinks=True))
    train([*train_args(root, data, "full", BOW_EPOCHS)])
    report(root, root / "runs", "main")
    return short, root


def metrics(root: Path) -> dict:
    return json.loads((root / "reports" / "main" / "metrics.json").read_text())


def block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def test_an_undertrained_baseline_is_named_and_nothing_is_claimed_against_it(reported):
    root, _ = reported
    m = metrics(root)
    bow = m["baselines"]["bow"]
    assert bow["run"] == "short" and bow["why"] == "trained 1 of the 30 epochs its preset needs"
    assert set(m["significance"]) == {"majority"}
    assert [row["kind"] for row in m["display"]["comparison"]] == ["model", "majority"]
    note = (
        f"The bag-of-n-grams run `short` ({fmt_pct(bow['accuracy'])} accuracy, {fmt_pct(bow['macro_f1'])} macro-F1) "
        "is undertrained and not compared with: it trained 1 of the 30 epochs its preset needs. "
        '`make train MODEL=bow ARGS="--trainer.max_epochs 30"` trains one that counts, and the next `make report` '
        "compares with it."
    )
    for page in ("docs/index.md", "docs/results.md", "docs/model-card.md"):
        assert note in (root / page).read_text(), page
    pitch = block((root / "README.md").read_text(), "pitch")
    summary = block((root / "docs" / "index.md").read_text(), "summary")
    assert "n-grams" not in pitch and "n-grams" not in summary and "n-grams" not in m["display"]["headline"]
    assert verify(root).startswith("verify: ")


def test_a_baseline_trained_as_its_preset_says_and_better_than_guessing_is_compared(reported):
    _, root = reported
    m = metrics(root)
    assert m["baselines"]["bow"]["run"] == "full" and m["baselines"]["bow"]["why"] is None
    assert m["baselines"]["bow"]["epochs"] == BOW_EPOCHS and set(m["significance"]) == {"majority", "bow"}
    assert [row["kind"] for row in m["display"]["comparison"]] == ["model", "bow", "majority"]
    pitch = block((root / "README.md").read_text(), "pitch")
    assert "macro-F1 points compared with the bag-of-n-grams baseline (95% CI " in pitch
    assert "undertrained" not in (root / "docs" / "results.md").read_text()
    assert verify(root).startswith("verify: ")
