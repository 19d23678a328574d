"""One run through the dl-portfolio library on this project's own data module and model: the commands a user types,
in a copy of the project, on tiny data made here (a bag of n-grams: seconds on a CPU)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import LABELS, write_splits

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"


def command(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m <package> ARGS` in `root`, as `make` runs it."""
    out = subprocess.run([sys.executable, "-m", PACKAGE, *args], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


def test_train_report_and_verify_through_the_library(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    for name in ("configs", "docs"):
        shutil.copytree(PROJECT / name, root / name)
    for name in ("mkdocs.yml", "README.md", "pyproject.toml"):
        shutil.copy(PROJECT / name, root / name)
    data = write_splits(tmp_path / "data")
    command(
        root, "train", "--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml",
        "--data.source", "local", "--data.path", str(data), "--data.labels", json.dumps(LABELS),
        "--data.batch_size", "8", "--model", "configs/model/bow.yaml", "--model.num_buckets", "4096",
        "--model.embed_dim", "16", "--trainer.max_epochs", "3", "--tracking.backend", "none",
        "--trainer.enable_progress_bar", "false", "--run_name", "e2e", "--no_baseline",
    )  # fmt: skip
    run = root / "runs" / "e2e"
    test = json.loads((run / "test_metrics.json").read_text())
    assert test["global_step"] == 3 * 6  # 48 training texts / batch 8, three epochs
    assert (root / "runs" / "latest").resolve() == run.resolve()
    command(root, "report")
    metrics = json.loads((root / "reports" / "e2e" / "metrics.json").read_text())
    assert metrics["confusion_matrix"]["labels"] == LABELS
    assert round(metrics["metrics"]["accuracy"], 6) == round(test["test/acc"], 6)
    assert " numbers on " in command(root, "verify").stdout
