"""The free-GPU notebook, executed headless with nbclient on the CPU: it clones a real git repository of a baked
project, trains the sample data with a tiny bag of n-grams, reports, shows the headline and the figures, verifies,
and pushes the results back. The committed notebook carries no outputs."""

import base64
import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import BIN

NOTEBOOK = "notebooks/train_on_colab.ipynb"
PARAMETERS = {"REPO_URL", "BRANCH", "CLONE", "INSTALL", "DATA", "MODEL", "TRAINER", "ARGS", "PUSH"}
TINY = "--trainer.max_epochs 1 --model.num_buckets 4096 --model.embed_dim 16 --run_name colab"


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout


def parameters_cell(nb) -> int:
    """Index of the cell tagged `parameters` (papermill's convention: values injected after it override it)."""
    (index,) = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    return index


def outputs(cell) -> list[dict]:
    return [dict(o) for o in cell.get("outputs", [])]


def text_of(cell) -> str:
    """Everything a code cell printed (streams) and displayed as Markdown or text."""
    parts = []
    for o in outputs(cell):
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif "data" in o:
            parts.append(o["data"].get("text/markdown") or o["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.fixture
def project(bake) -> Path:
    return bake(dataset="sample", model="bow", tracking="none", init_git="yes")


def test_the_committed_notebook_has_no_outputs_and_a_parameter_cell(project):
    path = project / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    names = {line.split("=")[0].strip() for line in nb.cells[parameters_cell(nb)].source.splitlines() if " = " in line}
    assert names == PARAMETERS
    # nbstripout (the pre-commit hook) would change nothing: the file is already in its stripped form.
    assert subprocess.run([BIN / "nbstripout", "--verify", path]).returncode == 0
    hook = (project / ".pre-commit-config.yaml").read_text()
    assert "id: nbstripout" in hook and "entry: nbstripout" in hook and "types: [jupyter]" in hook


def test_the_notebook_trains_reports_shows_verifies_and_pushes(project, tmp_path, monkeypatch):
    origin = tmp_path / "origin.git"  # the project's "GitHub": a bare repository the notebook clones and pushes to
    git(tmp_path, "clone", "-q", "--bare", str(project), str(origin))
    nb = nbformat.read(project / NOTEBOOK, as_version=4)
    values = {"REPO_URL": str(origin), "CLONE": True, "INSTALL": False, "DATA": "sample", "MODEL": "bow"}
    values |= {"TRAINER": "cpu", "ARGS": TINY, "PUSH": True}
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(parameters_cell(nb) + 1, injected)

    work = tmp_path / "colab"
    work.mkdir()
    monkeypatch.setenv("WANDB_MODE", "offline")  # the kernel, and what it runs, inherit this environment
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)  # a push to a local repository needs none
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()

    clone = work / "origin"
    metrics = json.loads((clone / "reports" / "colab" / "metrics.json").read_text())
    assert metrics["run"] == "colab" and metrics["dataset"]["is_sample"] is True
    assert metrics["dataset"]["splits"]["test"] == 108
    acc, f1 = (f"{100 * metrics['metrics'][k]:.1f}%" for k in ("accuracy", "macro_f1"))

    cells = {c.source.splitlines()[0] if c.source else "": c for c in nb.cells if c.cell_type == "code"}
    train = next(c for first, c in cells.items() if first.startswith('sh(*MAKE, "train"'))
    assert "--data configs/data/sample.yaml --model configs/model/bow.yaml" in text_of(train)
    headline = next(c for c in nb.cells if "display(" in c.source and "fmt_pct" in c.source)
    markdown = [o["data"]["text/markdown"] for o in outputs(headline) if "data" in o]
    assert markdown == [f"**{acc} accuracy · {f1} macro-F1** on the 108 test examples of {metrics['dataset']['name']} "
                        "(run `colab`)"]  # fmt: skip
    figures = next(c for c in nb.cells if 'metrics["figures"]' in c.source)
    images = [base64.b64decode(o["data"]["image/png"]) for o in outputs(figures) if "image/png" in o.get("data", {})]
    assert images == [(clone / "reports" / "colab" / p).read_bytes() for p in metrics["figures"].values()]
    assert len(images) >= 3  # confusion matrix, learning curves, F1 per class (and any the report adds)
    verify = next(c for c in nb.cells if c.source.startswith('sh(*MAKE, "verify")'))
    assert "verify: " in text_of(verify) and "match the 108 predictions" in text_of(verify)

    # Pushed: the origin's branch has the results commit with the report, the pages and the README pitch.
    message = "Results of run colab (trained in a notebook, cpu preset, bow model, sample data)"
    assert git(origin, "log", "-1", "--format=%s", "main").strip() == message
    files = set(git(origin, "ls-tree", "-r", "--name-only", "main").split())
    assert {"reports/colab/metrics.json", "reports/colab/predictions.csv", "docs/results.md"} <= files
    assert {"reports/latest", "docs/assets/figures/confusion_matrix.svg"} <= files
    assert not any(f.startswith("runs/") for f in files)  # checkpoints stay on the machine
    assert acc in git(origin, "show", "main:README.md")
