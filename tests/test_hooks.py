"""Bad answers are refused by the pre-generation hook: one clear line each, and no folder left behind."""

import subprocess

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from .conftest import BIN, KIT

BAD = [
    ({"project_slug": "my project"}, "project_slug 'my project' is not a valid folder/repository name"),
    ({"project_slug": "-lead"}, "project_slug '-lead' is not a valid folder/repository name"),
    ({"package_name": "2fast"}, "package_name '2fast' is not a valid Python package name"),
    ({"package_name": "my-pkg"}, "package_name 'my-pkg' is not a valid Python package name"),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "match"}, "package_name 'match' is a Python keyword"),
    ({"package_name": "json"}, "package_name 'json' would shadow the module 'json'"),
    ({"package_name": "torch"}, "package_name 'torch' would shadow the module 'torch'"),
    ({"package_name": "datasets"}, "package_name 'datasets' would shadow the module 'datasets'"),
    ({"email": "not-an-email"}, "email 'not-an-email' is not an email address"),
    ({"email": "a@b"}, "email 'a@b' is not an email address"),
    ({"github_username": "-bad-"}, "github_username '-bad-' is not a valid GitHub user name"),
    ({"github_username": "a--b"}, "github_username 'a--b' is not a valid GitHub user name"),
    ({"github_username": "x" * 40}, "is not a valid GitHub user name"),
    ({"project_name": "  "}, "project_name is empty"),
    ({"description": 'say "hi"'}, "description contains"),
    ({"wandb_project": "my project"}, "wandb_project 'my project' is not a valid W&B project name"),
]


@pytest.mark.parametrize(
    ("answers", "message"), BAD, ids=[next(iter(a)) + ":" + next(iter(a.values())) for a, _ in BAD]
)
def test_bad_answer_is_refused_with_one_line(tmp_path, capfd, answers, message):
    with pytest.raises(FailedHookException):
        cookiecutter(str(KIT), no_input=True, output_dir=str(tmp_path), extra_context={"init_git": "no", **answers})
    ours = [line for line in capfd.readouterr().err.splitlines() if line.startswith("dl-portfolio: ")]
    assert len(ours) == 1 and message in ours[0]
    assert list(tmp_path.iterdir()) == []  # nothing half generated


def test_no_input_cli_bakes_and_refuses_without_a_folder(tmp_path):
    ok = subprocess.run([BIN / "cookiecutter", str(KIT), "--no-input", "-o", str(tmp_path), "init_git=no"])
    assert ok.returncode == 0 and (tmp_path / "tweet-topic-classifier" / "pyproject.toml").is_file()
    bad = subprocess.run(
        [BIN / "cookiecutter", str(KIT), "--no-input", "-o", str(tmp_path / "b"), "package_name=json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert bad.returncode != 0
    assert "dl-portfolio: package_name 'json' would shadow the module 'json'" in bad.stderr
    assert not (tmp_path / "b" / "tweet-topic-classifier").exists()


def test_unknown_choice_is_refused(tmp_path):
    bad = subprocess.run(
        [BIN / "cookiecutter", str(KIT), "--no-input", "-o", str(tmp_path), "license=GPL-9"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "GPL-9" in bad.stderr and "Apache-2.0" in bad.stderr
    assert not (tmp_path / "tweet-topic-classifier").exists()


def test_git_init_makes_a_first_commit(bake):
    project = bake(init_git="yes", author_name="Ada Lovelace", email="ada@example.com")
    log = subprocess.run(["git", "log", "--format=%an <%ae> %s"], cwd=project, capture_output=True, text=True)
    assert log.stdout.strip() == "Ada Lovelace <ada@example.com> Initial commit from dl-portfolio"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True)
    assert status.stdout == ""
