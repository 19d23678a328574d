"""Which bag-of-n-grams run a model is compared with, and whether that baseline earned the comparison.

A baseline counts only when it was trained as its preset says, the bag of n-grams of configs/model/bow.yaml for
BOW_EPOCHS epochs on the same data (the data fingerprint its manifest recorded), and when it beats always predicting
the most frequent class (its macro-F1 gain over that has a 95% paired-bootstrap interval above zero). A baseline that
did not earn it is named on the pages with the reason, and no page claims a gain over it: beating a model that
learned nothing says nothing. A bag-of-n-grams run has no bag-of-n-grams baseline: it is one.
"""

from pathlib import Path

from .formats import fmt_ci, fmt_pct
from .runs import read_config, read_json

BOW_PRESET = Path("configs/model/bow.yaml")
BOW_EPOCHS = 30  # the preset's recipe: the bag of n-grams needs many small steps
# Data options that decide which examples a run sees: a baseline only compares when all of them match.
SAME_DATA_KEYS = (
    "source", "path", "hub_id", "hub_config", "splits", "labels", "text_column", "label_column",
    "val_fraction", "test_fraction", "split_seed", "drop_leaked", "normalize",
)  # fmt: skip


def same_data(a: dict, b: dict) -> bool:
    """Whether two data configs select the same examples (batch sizes and workers may differ)."""
    return all(a.get(k) == b.get(k) for k in SAME_DATA_KEYS)


def shortfall(epochs: int | None, data: dict | None, expected: dict | None) -> str | None:
    """Why a bag-of-n-grams run was not trained as its preset says (None when it was): other data, or too few
    epochs. Runs from before fingerprints or epoch counts were recorded cannot show they were."""
    if data and expected and any((data.get(s) or {}).get("sha256") != v.get("sha256") for s, v in expected.items()):
        return "was trained on other data (its data fingerprint differs)"
    if epochs is None:
        return "records no epoch count (trained by an older version)"
    if epochs < BOW_EPOCHS:
        return f"trained {epochs} of the {BOW_EPOCHS} epochs its preset needs"
    return None


def candidate(runs_dir: Path, run_dir: Path, config: dict, data: dict | None) -> dict | None:
    """The bag-of-n-grams run to compare run `run_dir` with: among the other finished bow runs on the same data
    config, the newest trained as its preset says, else the newest. `{"run", "accuracy", "macro_f1", "epochs",
    "why"}` (`why`: None, or what it lacks), or None when there is none or `run_dir` is a bow run itself."""
    if config.get("model", {}).get("encoder") == "bow":
        return None
    found = []
    for other in Path(runs_dir).iterdir():
        if other.is_symlink() or not other.is_dir() or other.resolve() == run_dir.resolve():
            continue
        test = read_json(other / "test_metrics.json")
        # No checkpoint means a fast_dev_run: it tested an untrained model, which is no baseline.
        if not test or not test.get("checkpoint") or not (other / "config.yaml").is_file():
            continue
        cfg = read_config(other)
        if cfg.get("model", {}).get("encoder") == "bow" and same_data(cfg.get("data", {}), config.get("data", {})):
            manifest = read_json(other / "manifest.json") or {}
            why = shortfall(test.get("epochs"), manifest.get("data"), data)
            mtime = (other / "test_metrics.json").stat().st_mtime
            found.append((why is None, mtime, other.name, test, why))
    if not found:
        return None
    _, _, name, test, why = max(found, key=lambda f: f[:3])
    scores = {"accuracy": test.get("test/acc"), "macro_f1": test.get("test/f1_macro")}
    return {"run": name, **scores, "epochs": test.get("epochs"), "why": why}


def beats_majority(bow: dict, gain: dict, majority: dict) -> str | None:
    """Why the baseline does not beat the majority class (None when it does): `gain` is metrics.compare's macro-F1
    difference of the bag of n-grams against always predicting the most frequent class."""
    if gain["low"] > 0:
        return None
    return (
        f"does not beat always predicting the most frequent class (macro-F1 {fmt_pct(bow['macro_f1'])} vs "
        f"{fmt_pct(majority['macro_f1'])}; the gain's 95% CI {fmt_ci(gain, points=True)} includes zero)"
    )


def earned_alone(m: dict) -> bool:
    """Whether a bag-of-n-grams run's own report (metrics.json) shows it earned a place as a baseline: trained as its
    preset says and better than the majority class (what another page needs before comparing with it)."""
    gain = ((m.get("significance") or {}).get("majority") or {}).get("macro_f1") or {}
    return m["model"]["encoder"] == "bow" and (m.get("epochs") or 0) >= BOW_EPOCHS and gain.get("low", 0) > 0
