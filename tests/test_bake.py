"""Every option combination bakes the exact expected file set, with no Jinja left over, and passes ruff."""

import itertools
import re
import subprocess

import pytest

from .conftest import BIN, files_of

# The files every project has, with the package folder written as PKG.
COMMON = {
    ".env.example", ".gitignore", ".pre-commit-config.yaml", "Makefile", "README.md", "pyproject.toml",
    "slurm/train.sbatch",
    "configs/default.yaml",
    "configs/data/local.yaml", "configs/data/sample.yaml", "configs/data/tweet_topic.yaml",
    "configs/model/bow.yaml", "configs/model/roberta.yaml", "configs/model/transformer.yaml",
    "configs/trainer/auto.yaml", "configs/trainer/cpu.yaml", "configs/trainer/ddp.yaml", "configs/trainer/gpu.yaml",
    "configs/trainer/multinode.yaml",
    "src/PKG/__init__.py", "src/PKG/__main__.py", "src/PKG/callbacks.py", "src/PKG/cli.py", "src/PKG/data.py",
    "src/PKG/encoders.py", "src/PKG/errors.py", "src/PKG/files.py", "src/PKG/hardware.py", "src/PKG/manifest.py",
    "src/PKG/models.py", "src/PKG/sources.py", "src/PKG/text.py", "src/PKG/tracking.py", "src/PKG/train.py",
    "src/PKG/metrics.py", "src/PKG/inference.py", "src/PKG/fingerprint.py", "src/PKG/formats.py",
    "src/PKG/train_many.py",
    "src/PKG/sample_data/train.csv", "src/PKG/sample_data/validation.csv", "src/PKG/sample_data/test.csv",
    "tests/__init__.py", "tests/conftest.py", "tests/test_data.py", "tests/test_model.py", "tests/test_tracking.py",
    "tests/test_train.py",
}  # fmt: skip
COLLECT = {"configs/collect.yaml", "configs/data/collected.yaml", "src/PKG/collect.py", "tests/test_collect.py"}
# The report, predict and write-up files (issue 4).
WRITEUP = {
    "mkdocs.yml", ".github/workflows/ci.yml", ".github/workflows/docs.yml",
    "docs/index.md", "docs/results.md", "docs/model-card.md", "docs/stylesheets/extra.css",
    "src/PKG/report.py", "src/PKG/runs.py", "src/PKG/figures.py", "src/PKG/writeup.py", "src/PKG/pages.py",
    "src/PKG/evaluation.py", "src/PKG/slices.py", "src/PKG/references.py", "tests/test_scoring.py",
    "src/PKG/predict.py", "tests/test_report.py",
}  # fmt: skip
# Results checked on every push, training on a free GPU (issue 16).
VERIFY = {"src/PKG/verify.py", "tests/test_verify.py", "notebooks/train_on_colab.ipynb"}

# The model exported as ONNX with its card, and pushed to the Hugging Face Hub (issue 13).
EXPORT = {
    "src/PKG/export.py", "src/PKG/model_card.py", "src/PKG/hub.py",
    "tests/test_export.py", "tests/test_hub.py", "tests/fake_hub.py",
}  # fmt: skip

# The write-up's Try it page: the exported model in the visitor's browser on onnxruntime-web from npm (issue 13).
DEMO = {
    "docs/try.md", "docs/javascripts/demo.js", "docs/javascripts/textprep.js", "docs/stylesheets/demo.css",
    "docs/assets/demo/demo.json", "package.json", "package-lock.json", "src/PKG/demo.py", "tests/test_demo.py",
}  # fmt: skip

# Every bad input checked before work starts, one line each, quiet output; the table-driven test (issue 14).
CHECKS = {"src/PKG/checks.py", "src/PKG/quiet.py", "tests/test_bad_inputs.py"}

# Optuna sweeps that survive a crash and scale out: trials are train runs, the best one trained once (issue 15).
SWEEP = {
    "src/PKG/sweep.py", "src/PKG/sweep_report.py", "configs/sweep/bow.yaml", "configs/sweep/transformer.yaml",
    "slurm/sweep.sbatch", "tests/test_sweep.py",
}  # fmt: skip

LICENSES = ["MIT", "Apache-2.0", "BSD-3-Clause", "none"]
DATASETS = ["tweet_topic", "sample", "local", "collected_tweets"]
MODELS = ["transformer", "bow"]
TRACKING = ["wandb", "none"]
MATRIX = list(itertools.product(LICENSES, DATASETS, MODELS, TRACKING))


def expected_files(license: str, dataset: str, package: str = "tweet_topic_classifier") -> set[str]:
    """The file set the options should produce."""
    files = set(COMMON) | ({"LICENSE"} if license != "none" else set())
    files |= COLLECT if dataset == "collected_tweets" else set()
    files |= WRITEUP | VERIFY | EXPORT | CHECKS | DEMO | SWEEP
    return {f.replace("PKG", package) for f in files}


# `{{`, `{%` and `cookiecutter.` left in a file mean a template was not rendered; GitHub's `${{ }}` is fine.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


@pytest.mark.parametrize(("license", "dataset", "model", "tracking"), MATRIX, ids=["-".join(m) for m in MATRIX])
def test_bake_matrix(bake, license, dataset, model, tracking):
    project = bake(license=license, dataset=dataset, model=model, tracking=tracking)
    assert files_of(project) == expected_files(license, dataset)
    for path in project.rglob("*"):
        if path.is_file() and path.suffix != ".csv":
            text = path.read_text(encoding="utf-8")
            assert not LEFTOVER.search(text), f"unrendered template in {path.relative_to(project)}"
    for cmd in (["check", "."], ["format", "--check", "."]):
        out = subprocess.run([BIN / "ruff", *cmd], cwd=project, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_answers_reach_the_files(bake):
    project = bake(
        project_name="Sports Tweets",
        author_name="Grace Hopper",
        github_username="ghopper",
        license="Apache-2.0",
        dataset="sample",
        model="bow",
        tracking="none",
    )
    assert project.name == "sports-tweets"
    assert (project / "src" / "sports_tweets" / "cli.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "sports-tweets"' in pyproject and 'sports_tweets = "sports_tweets.cli:main"' in pyproject
    assert "wandb" not in pyproject and "tweepy" not in pyproject
    assert "Apache License" in (project / "LICENSE").read_text()
    default = (project / "configs" / "default.yaml").read_text()
    assert "data: data/sample.yaml" in default and "model: model/bow.yaml" in default
    assert "backend: none" in default
    assert "https://ghopper.github.io/sports-tweets/" in (project / "README.md").read_text()


def test_mit_license_names_the_author_and_year(bake):
    import datetime

    text = (bake(license="MIT", author_name="Alan Turing") / "LICENSE").read_text()
    assert f"Copyright (c) {datetime.date.today().year} Alan Turing" in text
