"""Every option combination bakes the exact expected file set, with no Jinja left over, and passes ruff."""

import itertools
import re
import subprocess
import tomllib
from pathlib import PurePosixPath

import pytest

from .conftest import BIN, KIT, files_of

# The files every project has, with the package folder written as PKG: the owner's data, text preparation and model,
# configs, write-up, notebook and tests of their own code; the machinery is the dl-portfolio library (issue 21).
COMMON = {
    ".env.example", ".gitignore", ".pre-commit-config.yaml", "Makefile", "README.md", "pyproject.toml",
    "Dockerfile", ".dockerignore",
    "slurm/train.sbatch", "slurm/sweep.sbatch",
    "configs/default.yaml",
    "configs/data/local.yaml", "configs/data/sample.yaml", "configs/data/tweet_topic.yaml",
    "configs/model/bow.yaml", "configs/model/roberta.yaml", "configs/model/transformer.yaml",
    "configs/trainer/auto.yaml", "configs/trainer/cpu.yaml", "configs/trainer/ddp.yaml", "configs/trainer/gpu.yaml",
    "configs/trainer/multinode.yaml", "configs/sweep/bow.yaml", "configs/sweep/transformer.yaml",
    "src/PKG/__init__.py", "src/PKG/__main__.py", "src/PKG/data.py", "src/PKG/sources.py",
    "src/PKG/encoders.py", "src/PKG/models.py",
    "src/PKG/sample_data/train.csv", "src/PKG/sample_data/validation.csv", "src/PKG/sample_data/test.csv",
    "tests/__init__.py", "tests/conftest.py", "tests/test_data.py", "tests/test_model.py", "tests/test_end_to_end.py",
    "tests/test_try_it.py",
    "notebooks/train_on_colab.ipynb",
}  # fmt: skip
COLLECT = {"configs/collect.yaml", "configs/data/collected.yaml"}
# The write-up and its Try it page (the exported model in the visitor's browser on onnxruntime-web from npm).
WRITEUP = {
    "mkdocs.yml", ".github/workflows/ci.yml", ".github/workflows/docs.yml",
    "docs/index.md", "docs/results.md", "docs/model-card.md", "docs/stylesheets/extra.css",
    "docs/try.md", "docs/javascripts/demo.js", "docs/javascripts/textprep.js", "docs/stylesheets/demo.css",
    "docs/assets/demo/demo.json", "package.json", "package-lock.json",
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
    files |= WRITEUP
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
    assert (project / "src" / "sports_tweets" / "__main__.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "sports-tweets"' in pyproject and 'sports_tweets = "sports_tweets.__main__:run"' in pyproject
    settings = tomllib.loads(pyproject)["tool"]["dl-portfolio"]
    assert settings == {"package": "sports_tweets", "name": "Sports Tweets", "license": "Apache-2.0",
                        "hub_repo": "ghopper/sports-tweets"}  # fmt: skip
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


def test_the_project_pins_the_library_release_it_was_baked_from(bake):
    """The kit's version is the library's: a project depends on the tag of the kit that baked it."""
    version = tomllib.loads((KIT / "library" / "pyproject.toml").read_text())["project"]["version"]
    pyproject = tomllib.loads((bake() / "pyproject.toml").read_text())
    pin = f"dl-portfolio[train,serve] @ git+https://github.com/org/dl-portfolio@v{version}#subdirectory=library"
    assert pin in pyproject["project"]["dependencies"]
    import dl_portfolio

    assert dl_portfolio.__version__ == version


@pytest.mark.parametrize("answers", [{}, {"dataset": "collected_tweets", "license": "none", "model": "bow"}])
def test_the_readme_map_names_every_file_and_src_stays_small(bake, answers):
    """A reviewer reads the project top to bottom: its README's map names every file, and the owner's `src/` is at
    most 10 modules and 1,000 lines (the machinery is the dl-portfolio library)."""
    project = bake(**answers)
    readme = (project / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("```")[1]
    missing = sorted(f for f in files_of(project) if PurePosixPath(f).name not in layout)
    assert missing == []
    modules = list((project / "src").rglob("*.py"))
    assert len(modules) <= 10 and sum(len(p.read_text().splitlines()) for p in modules) <= 1000


def test_the_dockerfile_installs_the_pinned_library_with_only_its_serving_extra(bake):
    """No container engine runs here: the Dockerfile's install step is checked by running its pin expression on the
    baked pyproject (the install itself, in a venv without torch, is library/tests/test_serve.py's)."""
    project = bake(python_version="3.12")
    docker = (project / "Dockerfile").read_text()
    assert docker.splitlines()[5] == "FROM python:3.12-slim" and "torch" not in docker.replace("no torch", "")
    expression = re.search(r"python -c '([^']+)'", docker).group(1)
    pin = subprocess.run([BIN / "python", "-c", expression], cwd=project, capture_output=True, text=True, check=True)
    version = tomllib.loads((KIT / "library" / "pyproject.toml").read_text())["project"]["version"]
    assert pin.stdout.strip() == (
        f"dl-portfolio[serve] @ git+https://github.com/org/dl-portfolio@v{version}#subdirectory=library"
    )
    assert 'dl_portfolio.serve --root /app --run \\"$SERVE_RUN\\" --host 0.0.0.0 --port 8000' in docker
