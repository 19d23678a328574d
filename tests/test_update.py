"""Template updates with real git and real cruft: a project baked from one commit of the kit takes the next commit's
changes with `cruft update`, and the author's prose and the generated results survive it."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, KIT

IDENT = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com"}
IDENT |= {"GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
ENV = {**os.environ, **IDENT, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
TEMPLATE = "{{cookiecutter.project_slug}}"
AUTHOR_PROSE = "I built this after a summer sorting tweets by hand for a local newsroom; the model does it in a second."
README_PROSE = "Built for my application to the ML residency: the numbers above come from `make verify`-checked runs."
PITCH = "**87.5% accuracy · 86.1% macro-F1** on the 1,693 test examples of TweetTopic."


def sh(cwd: Path, *cmd: str | Path) -> subprocess.CompletedProcess:
    """Run a command (git, cruft) with a fixed identity and no user git config."""
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=ENV, timeout=300)


def ok(cwd: Path, *cmd: str | Path) -> str:
    """Run a command that must succeed; return its stdout."""
    out = sh(cwd, *cmd)
    assert out.returncode == 0, f"{cmd}: {out.stdout[-2000:]}{out.stderr[-2000:]}"
    return out.stdout


def kit_files() -> list[str]:
    """The kit's files as a fresh clone of the working tree would have them (tracked and new, minus git-ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=KIT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [f for f in listed.split("\0") if f and (KIT / f).is_file()]


def commit_all(repo: Path, message: str) -> str:
    """Commit every change of `repo`; return the new commit's sha."""
    ok(repo, "git", "add", "-A")
    ok(repo, "git", "commit", "-q", "-m", message)
    return ok(repo, "git", "rev-parse", "HEAD").strip()


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of text (that must be there once) in a file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def replace_between(path: Path, name: str, body: str) -> None:
    """What `make report` does to a generated block: new text between `<!-- name:start -->` and `<!-- name:end -->`."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(f"<!-- {name}:start -->")
    _, tail = rest.split(f"<!-- {name}:end -->")
    path.write_text(f"{head}<!-- {name}:start -->\n{body}\n<!-- {name}:end -->{tail}", encoding="utf-8")


@pytest.fixture
def kit_repo(tmp_path: Path) -> Path:
    """A git repository of the kit at one commit, in a temp folder (the kit's own checkout is never touched)."""
    if shutil.which("git") is None or not (KIT / ".git").exists():
        pytest.skip("needs git and the kit as a git checkout (its file list is `git ls-files`)")
    repo = tmp_path / "kit"
    for rel in kit_files():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(KIT / rel, repo / rel)
    ok(repo, "git", "init", "-q", "-b", "main")
    commit_all(repo, "kit at release 1")
    return repo


def test_cruft_update_brings_kit_changes_and_keeps_the_authors_edits(kit_repo, tmp_path):
    answers = {"dataset": "sample", "model": "bow", "tracking": "none", "init_git": "yes"}
    out = tmp_path / "projects"
    context = json.dumps(answers)
    ok(tmp_path, BIN / "cruft", "create", kit_repo, "--no-input", "--output-dir", out, "--extra-context", context)
    project = out / "tweet-topic-classifier"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(kit_repo) and state["context"]["cookiecutter"]["dataset"] == "sample"
    assert state["commit"] == ok(kit_repo, "git", "rev-parse", "HEAD").strip()

    # The post-gen hook made the first commit before cruft wrote .cruft.json: untracked, so update refuses...
    assert ok(project, "git", "status", "--porcelain").splitlines() == ["?? .cruft.json"]
    refused = sh(project, BIN / "cruft", "update", "-y")
    assert refused.returncode == 1 and "unclean git project" in refused.stdout + refused.stderr
    # ... until it is committed, as cruft's documentation (and the kit README) says to do.
    commit_all(project, "Link the project to its template (cruft)")
    assert "up to date" in ok(project, BIN / "cruft", "check")

    # The author writes prose in the write-up and the README, and `make report` fills the generated blocks and pages.
    index, readme, results = project / "docs" / "index.md", project / "README.md", project / "docs" / "results.md"
    edit(index, "Millions of tweets are posted every hour", f"{AUTHOR_PROSE}\nMillions of tweets are posted each hour")
    edit(readme, "## Quickstart\n", f"{README_PROSE}\n\n## Quickstart\n")
    replace_between(index, "summary", "A bag-of-n-grams model reaches **87.5% accuracy**.")
    replace_between(readme, "pitch", PITCH)
    results.write_text("# Results\n\nGenerated by make report: 87.5% accuracy.\n", encoding="utf-8")
    commit_all(project, "My write-up and first results")

    # The kit moves on: a line in the write-up template, a Makefile target, a README paragraph, a new preset, and
    # a new placeholder on a page `make report` owns.
    template = kit_repo / TEMPLATE
    learned = "## What I learned\n"
    edit(template / "docs" / "index.md", learned, f"{learned}\n<!-- kit 2: say what failed. -->\n")
    with (template / "Makefile").open("a", encoding="utf-8") as f:
        f.write("\nkit-two:  ## a target added by release 2 of the kit\n\t@echo kit two\n")
    edit(template / "README.md", "## Layout\n", "Release 2 of the kit wrote this paragraph.\n\n## Layout\n")
    (template / "configs" / "trainer" / "tpu.yaml").write_text("trainer:\n  accelerator: tpu\n", encoding="utf-8")
    edit(template / "docs" / "results.md", "# Results\n", "# Results (kit 2 placeholder)\n")
    release_2 = commit_all(kit_repo, "kit at release 2")

    stale = sh(project, BIN / "cruft", "check")
    assert stale.returncode == 1 and "out of date" in stale.stdout + stale.stderr
    ok(project, BIN / "cruft", "update", "-y")

    # The kit's changes arrived ...
    assert "<!-- kit 2: say what failed. -->" in index.read_text()
    assert "kit-two:" in (project / "Makefile").read_text()
    assert "Release 2 of the kit wrote this paragraph." in readme.read_text()
    assert (project / "configs" / "trainer" / "tpu.yaml").read_text() == "trainer:\n  accelerator: tpu\n"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == release_2
    # ... and the author's prose and the generated results stayed, merged without conflicts.
    assert AUTHOR_PROSE in index.read_text() and README_PROSE in readme.read_text()
    assert "A bag-of-n-grams model reaches **87.5% accuracy**." in index.read_text()
    assert PITCH in readme.read_text()
    assert results.read_text() == "# Results\n\nGenerated by make report: 87.5% accuracy.\n"
    assert not list(project.rglob("*.rej")) and not list(project.rglob("*.orig"))
    assert "<<<<<<<" not in index.read_text() + readme.read_text() + (project / "Makefile").read_text()
    # cruft leaves the update for the author to review and commit; nothing else in the project moved.
    changed = {line[3:] for line in ok(project, "git", "status", "--porcelain").splitlines()}
    assert changed == {".cruft.json", "Makefile", "README.md", "docs/index.md", "configs/trainer/tpu.yaml"}
    commit_all(project, "Template update (cruft)")
    assert "up to date" in ok(project, BIN / "cruft", "check")


def test_a_project_baked_with_plain_cookiecutter_is_linked_with_cruft_link(kit_repo, tmp_path):
    answers = {"dataset": "sample", "model": "bow", "tracking": "none", "init_git": "yes"}
    out = tmp_path / "projects"
    ok(tmp_path, BIN / "cookiecutter", kit_repo, "--no-input", "-o", out, *(f"{k}={v}" for k, v in answers.items()))
    project = out / "tweet-topic-classifier"
    assert not (project / ".cruft.json").exists()
    release_1 = ok(kit_repo, "git", "rev-parse", "HEAD").strip()
    # -y: link to the kit's current commit (the one baked from); the answers are the ones given to cookiecutter.
    ok(project, BIN / "cruft", "link", kit_repo, "-y", "--extra-context", json.dumps(answers))
    assert json.loads((project / ".cruft.json").read_text())["commit"] == release_1
    commit_all(project, "Link the project to its template (cruft link)")
    assert "up to date" in ok(project, BIN / "cruft", "check")

    with (kit_repo / TEMPLATE / "Makefile").open("a", encoding="utf-8") as f:
        f.write("\nkit-two:  ## a target added by release 2 of the kit\n\t@echo kit two\n")
    commit_all(kit_repo, "kit at release 2")
    assert sh(project, BIN / "cruft", "check").returncode == 1
    ok(project, BIN / "cruft", "update", "-y")
    assert "kit-two:" in (project / "Makefile").read_text()
    changed = {line[3:] for line in ok(project, "git", "status", "--porcelain").splitlines()}
    assert changed == {".cruft.json", "Makefile"}


def test_the_projects_ci_verifies_the_results_and_checks_the_template(bake):
    project = bake(github_username="ghopper", project_name="Sports Tweets")
    steps = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert runs.index("make verify PYTHON=python") > runs.index("make test PYTHON=python")
    (cruft,) = [s for s in steps if s.get("run") == "cruft check"]
    assert cruft["if"] == "hashFiles('.cruft.json') != ''" and cruft["continue-on-error"] is True
    assert any("cruft" in r and "pip install" in r for r in runs)
    # The badge says the results were verified and links to that workflow; a static image, so nothing is fetched
    # when the project builds.
    readme = (project / "README.md").read_text()
    badge = (
        "[![Results verified by make verify](https://img.shields.io/badge/results-verified%20by%20make%20verify-2ea44f)]"
        "(https://github.com/ghopper/sports-tweets/actions/workflows/ci.yml)"
    )
    assert badge in readme.splitlines()[:10]  # at the top, under the picture of the Try it page
