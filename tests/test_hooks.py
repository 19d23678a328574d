"""Bad answers are refused by the pre-generation hook: one clear line each, and no folder left behind."""

import functools
import json
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
    # local_extensions.py keeps cookiecutter's traceback away: the hook's line and cookiecutter's last word remain.
    lines = [line for line in (bad.stdout + bad.stderr).splitlines() if line.strip()]
    assert "Traceback" not in bad.stderr and len(lines) == 2, lines
    assert lines[0].startswith("Hook script failed") or lines[1].startswith("Hook script failed")


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


def load_pre_gen_hook():
    """hooks/pre_gen_project.py as a module (unrendered, it has no answers; its checks take them as arguments)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pre_gen_project", KIT / "hooks" / "pre_gen_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def template_and_environment():
    """cookiecutter.json and the Jinja environment cookiecutter renders it in (with the kit's extensions)."""
    from cookiecutter.environment import StrictEnvironment

    template = json.loads((KIT / "cookiecutter.json").read_text(encoding="utf-8"))
    return template, StrictEnvironment(context={"cookiecutter": template})


def derived_answers(project_name: str) -> dict:
    """What `cookiecutter --no-input project_name=...` answers: cookiecutter's own rendering of cookiecutter.json."""
    from cookiecutter.prompt import render_variable

    template, env = template_and_environment()
    template = {**template, "project_name": project_name}
    answers = {}
    for key, raw in template.items():
        if key.startswith("_") and not key.startswith("__"):
            answers[key] = raw  # private keys reach the context as they are, in order
        elif key != "__prompts__":
            value = raw[0] if isinstance(raw, list) else raw
            answers[key] = render_variable(env, value, answers) if isinstance(value, str) else value
    return answers


NAMES = [
    ("Tweet Topic Classifier", "tweet-topic-classifier", "tweet_topic_classifier"),
    ("Análisis de Sentimiento", "analisis-de-sentimiento", "analisis_de_sentimiento"),
    ("Ελληνικά Tweets", "ellenika-tweets", "ellenika_tweets"),
    ("Привет мир", "privet-mir", "privet_mir"),
    ("تحليل التغريدات", "thlyl-ltgrydt", "thlyl_ltgrydt"),
    ("微博话题分类", "wei-bo-hua-ti-fen-lei", "wei_bo_hua_ti_fen_lei"),
    ("2024 Election Tweets", "2024-election-tweets", "project_2024_election_tweets"),
    ("Email", "email", "email_classifier"),
    ("Class", "class", "class_classifier"),
    ("Torch", "torch", "torch_classifier"),
    ("my.site_v2", "my-site-v2", "my_site_v2"),
    ("🎉🎉", "unnamed-project", "unnamed_project"),
]


@pytest.mark.parametrize(("name", "slug", "package"), NAMES, ids=[n[1] for n in NAMES])
def test_names_in_any_script_derive_ascii_names_the_hook_accepts(name, slug, package):
    answers = derived_answers(name)
    assert (answers["project_slug"], answers["package_name"]) == (slug, package)
    assert load_pre_gen_hook().problems(answers) == []


def test_no_reserved_word_as_a_project_name_derives_a_refused_package():
    """Every keyword, standard-library module and dependency, typed as the project name, still bakes by default."""
    import keyword
    import sys

    reserved = json.loads((KIT / "cookiecutter.json").read_text(encoding="utf-8"))["_reserved_package_names"]
    public_stdlib = {n for n in sys.stdlib_module_names if n.islower() and not n.startswith("_")}  # slugs are lower
    assert public_stdlib | set(keyword.kwlist) - {"False", "None", "True"} <= set(reserved)
    hook = load_pre_gen_hook()
    refused = {n: hook.problems(derived_answers(n)) for n in [*reserved, "False", "None", "True"]}
    assert {n: p for n, p in refused.items() if p} == {}


@pytest.mark.parametrize("name", ["微博话题分类", "Email"])
def test_name_in_another_script_bakes_with_the_defaults(bake, name):
    project = bake(project_name=name)
    package = derived_answers(name)["package_name"]
    assert project.name == derived_answers(name)["project_slug"]
    assert (project / "src" / package / "__main__.py").is_file()
    assert f'name = "{project.name}"' in (project / "pyproject.toml").read_text(encoding="utf-8")


HOOK_REFUSED = [
    ({"project_slug": "My-Project"}, "project_slug 'My-Project' is not a valid folder/repository name"),
    ({"project_slug": "name-"}, "project_slug 'name-' is not a valid folder/repository name"),
    ({"package_name": "email"}, "package_name 'email' would shadow the module 'email'"),
    ({"package_name": "wandb"}, "package_name 'wandb' would shadow the module 'wandb'"),
    ({"author_name": "Ada\tLovelace"}, "author_name contains '\\t'"),
    ({"project_name": "My {project}"}, "project_name contains '{}'"),
]


@pytest.mark.parametrize(("answers", "message"), HOOK_REFUSED, ids=[repr(a) for a, _ in HOOK_REFUSED])
def test_more_bad_answers_are_one_line_each(answers, message):
    hook = load_pre_gen_hook()
    found = hook.problems({**derived_answers("Tweet Topic Classifier"), **answers})
    assert len(found) == 1 and message in found[0]
