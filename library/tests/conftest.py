"""The library's tests: a baked project to work on, and the tiny data and tiny BERT of dl_portfolio.testing (the
tests never download anything)."""

import atexit
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from dl_portfolio.project import use
from dl_portfolio.testing import LABELS, data_dir, make_rows, tiny_bert, write_csv, write_splits

__all__ = ["LABELS", "data_dir", "make_rows", "tiny_bert", "write_csv", "write_splits"]

KIT = Path(__file__).resolve().parents[2]
PACKAGE = "tweet_topic_classifier"


def bake_project(dataset: str = "sample") -> Path:
    """A project the library's tests work on: the kit's template baked with its defaults and `dataset` (its configs,
    docs and model are what a real project has), once per test session, removed at exit."""
    from cookiecutter.main import cookiecutter

    out = Path(tempfile.mkdtemp(prefix="dl-portfolio-tests-"))
    atexit.register(shutil.rmtree, out, True)
    context = {"dataset": dataset, "init_git": "no", "tracking": "wandb"}
    with contextlib.redirect_stdout(io.StringIO()):  # the hook's "next steps"
        return Path(cookiecutter(str(KIT), no_input=True, output_dir=str(out), extra_context=context))


PROJECT = bake_project()
COLLECTED = bake_project("collected_tweets")  # the same package, baked with `collect`'s config
# `make test` runs these tests: the `make` they run in a project must not think it is nested (make[1]: lines).
for name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
    os.environ.pop(name, None)
# The Try it page's npm packages, installed once by the kit's `make npm` (`make test` runs it).
os.environ.setdefault("NODE_MODULES", str(KIT / "build" / "npm" / "node_modules"))
# The project's package is importable here and in every process a test starts, as `make install` would make it.
sys.path.insert(0, str(PROJECT / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT / "src"), os.environ.get("PYTHONPATH")]))
use(PACKAGE)


def run_options(root: Path, data: Path, run: str) -> list[str]:
    """The data, CPU and quiet options every tiny test run shares, into ROOT/runs/RUN."""
    return [
        "--data.labels", json.dumps(LABELS), "--data.source", "local", "--data.path", str(data),
        "--data.batch_size", "8", "--trainer.accelerator", "cpu",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        "--runs_dir", str(root / "runs"), "--run_name", run,
    ]  # fmt: skip


def train_args(root: Path, data: Path, run: str, epochs: int) -> list[str]:
    """`train` options for a tiny bag-of-n-grams run on the tiny task, into ROOT/runs/RUN."""
    return [
        *run_options(root, data, run), "--model.encoder", "bow", "--model.num_buckets", "4096",
        "--model.embed_dim", "16", "--model.optimizer", "sgd", "--model.lr", "0.5", "--model.weight_decay", "0",
        "--trainer.max_epochs", str(epochs),
    ]  # fmt: skip


def export_run_args(root: Path, data: Path, run: str, encoder: str, backbone: str) -> list[str]:
    """A run the export and demo tests export: a tiny BERT at `backbone`, or a bag of n-grams with character
    4-grams (the part a featurizer in another language gets wrong first)."""
    model = (
        ["--model.encoder", "bow", "--model.num_buckets", "4096", "--model.embed_dim", "16", "--model.char_ngrams", "4",
         "--model.optimizer", "sgd", "--model.lr", "0.5", "--model.weight_decay", "0", "--trainer.max_epochs", "3"]
        if encoder == "bow"
        else ["--model.encoder", "transformer", "--model.backbone", backbone, "--model.optimizer", "adamw",
              "--model.lr", "1e-3", "--trainer.max_epochs", "2"]
    )  # fmt: skip
    return [*run_options(root, data, run), *model]


def new_root(folder: Path) -> Path:
    """A project folder with the project's docs/, mkdocs.yml and README.md (the files report writes into) and its
    pyproject.toml (its settings)."""
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT / "docs", folder / "docs")
    for name in ("mkdocs.yml", "README.md", "pyproject.toml"):
        shutil.copy(PROJECT / name, folder / name)
    return folder


def copy_project(folder: Path) -> Path:
    """Copy the baked project's configs, docs, Makefile, README, mkdocs.yml and pyproject.toml into `folder`."""
    for name in ("configs", "docs"):
        shutil.copytree(PROJECT / name, folder / name)
    for name in ("Makefile", "README.md", "mkdocs.yml", "pyproject.toml"):
        shutil.copy(PROJECT / name, folder / name)
    return folder
