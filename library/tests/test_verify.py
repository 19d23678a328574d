"""`verify` on a real tiny run: the reported pages pass; a number edited by hand fails with one line naming it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dl_portfolio.formats import fmt_pct
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.verify import verify

from .conftest import PROJECT, new_root, train_args, write_splits

PERCENT = re.compile(r"(?<![\d.])\d+\.\d%|\d+\.\d–\d+\.\d")  # what fmt_pct and fmt_ci write
HAND_EDIT = "`make report` rewrites the generated parts"


@pytest.fixture(scope="module")
def reported(tmp_path_factory) -> Path:
    """A project copy with one 2-epoch bag-of-n-grams run on the tiny task, reported."""
    tmp = tmp_path_factory.mktemp("verify")
    data = write_splits(tmp / "data")
    root = new_root(tmp / "project")
    train(train_args(root, data, "main", 2))
    report(root, root / "runs")
    return root


@pytest.fixture
def project(reported, tmp_path) -> Path:
    """A copy of the reported project that a test may edit (reports/latest stays a relative link)."""
    return Path(shutil.copytree(reported, tmp_path / "project", symlinks=True))


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m <package> verify` run inside `root`, as `make verify` runs it."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    cmd = [sys.executable, "-m", "tweet_topic_classifier", "verify", *args]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=120)


def metrics(root: Path) -> dict:
    return json.loads((root / "reports" / "latest" / "metrics.json").read_text())


def not_a_score(m: dict) -> str:
    """A well-formed percentage that no float of metrics.json formats to."""
    taken = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, float):
            taken.add(fmt_pct(value))

    walk(m)
    return next(p for p in (f"{x / 10:.1f}%" for x in range(1000, 0, -7)) if p not in taken)


def block(text: str, name: str) -> str:
    return text.split(f"<!-- {name}:start -->")[1].split(f"<!-- {name}:end -->")[0]


def test_a_project_without_results_has_nothing_to_check(tmp_path):
    root = new_root(tmp_path / "new")
    out = cli(root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "verify: no results yet (no report, no numbers on the pages): nothing to check"


def test_the_reported_pages_pass_and_every_number_is_counted(project):
    readme, index = (project / "README.md").read_text(), (project / "docs" / "index.md").read_text()
    shown = [block(readme, "pitch"), block(index, "summary"), block(index, "results")]
    shown += [(project / "docs" / page).read_text() for page in ("results.md", "model-card.md")]
    shown.append(json.dumps(metrics(project).get("display"), ensure_ascii=False))
    count = sum(len(PERCENT.findall(text)) for text in shown)
    assert count >= 20  # headline, cards, baselines, per-class table, model card: all checked
    pages = 4 + bool(metrics(project).get("display"))  # README, index.md, results.md, model-card.md (+ display)
    out = cli(project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"verify: {count} numbers on {pages} pages match reports/latest/metrics.json, whose accuracy, macro-F1, "
        "weighted-F1 and confusion matrix match the 18 predictions of predictions.csv"
    )


@pytest.mark.parametrize(("page", "marker"), [("docs/index.md", "results"), ("README.md", "pitch")])
def test_a_number_edited_by_hand_fails_with_one_line_naming_page_and_number(project, page, marker):
    accuracy = fmt_pct(metrics(project)["metrics"]["accuracy"])
    wrong = not_a_score(metrics(project))
    path = project / page
    text = path.read_text()
    start = text.index(f"<!-- {marker}:start -->")
    at = text.index(accuracy, start)  # the first accuracy of the generated block
    path.write_text(text[:at] + wrong + text[at + len(accuracy) :])
    line = text.count("\n", 0, at) + 1

    out = cli(project)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.splitlines() == [
        f"error: {page}:{line}: {wrong} is not a number of reports/latest/metrics.json: was it edited by hand? "
        f"{HAND_EDIT}"
    ]


def test_numbers_in_the_authors_prose_are_the_authors(project):
    index = project / "docs" / "index.md"
    prose = "## Problem\n\nTwo human readers agree on 93.7% of the tweets.\n"
    index.write_text(index.read_text().replace("## Problem\n", prose))
    assert verify(project).startswith("verify: ")


def test_metrics_json_that_its_predictions_do_not_give_fails(project):
    m = metrics(project)
    claimed = m["metrics"]["accuracy"] + 0.05
    m["metrics"]["accuracy"] = claimed
    (project / "reports" / "latest" / "metrics.json").write_text(json.dumps(m))
    out = cli(project)
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"error: reports/latest/metrics.json: accuracy is {claimed!r} but reports/latest/")
    assert "predictions.csv gives" in line and "run `make report` again" in line


def test_an_exports_model_card_is_checked_against_its_run_and_its_export(project):
    card = project / "exports" / "main" / "README.md"
    card.parent.mkdir(parents=True)
    (card.parent / "export.json").write_text(json.dumps({"parity": {"accuracy": {"int8": 0.4321}}}))
    card.write_text((project / "docs" / "model-card.md").read_text() + "\nThe int8 copy: 43.2% accuracy.\n")
    assert verify(project).startswith("verify: ")

    wrong = not_a_score(metrics(project))
    card.write_text(card.read_text().replace("43.2%", wrong))
    out = cli(project)
    line = card.read_text().count("\n")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"error: exports/main/README.md:{line}: {wrong} is not a number of reports/main/metrics.json: was it edited "
        f"by hand? {HAND_EDIT}"
    ]


def test_a_broken_metrics_json_is_one_line_too(project):
    (project / "reports" / "latest" / "metrics.json").write_text('{"metrics": ')
    out = cli(project)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith("error: reports/latest/metrics.json is not valid JSON (")
    assert line.endswith("): run `make report` again")


@pytest.mark.parametrize("path", ["metrics.accuracy", "dataset.is_sample", "confusion_matrix.labels", "display"])
def test_a_metrics_json_missing_a_schema_key_fails_with_one_line_naming_it(project, path):
    file = project / "reports" / "latest" / "metrics.json"
    m = json.loads(file.read_text())
    *parents, last = path.split(".")
    node = m
    for part in parents:
        node = node[part]
    del node[last]
    file.write_text(json.dumps(m))
    out = cli(project)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    rewrite = "run `make report` again to rewrite it"
    assert out.stderr == f"error: reports/latest/metrics.json has no key '{path}': {rewrite}\n"


def test_report_after_push_model_keeps_the_hub_record(project):
    """push-model writes reports/<run>/hub.json (the Try it page names the repo from it); a new report keeps it."""
    from dl_portfolio.demo import hub_repo
    from dl_portfolio.layout import Layout

    record = Layout(project).hub_record("main")
    pushed = {"repo_id": "someone/tiny-model", "url": "https://huggingface.co/someone/tiny-model", "commit_url": "x"}
    record.write_text(json.dumps(pushed))
    report(project, project / "runs", "main")
    assert json.loads(record.read_text()) == pushed
    assert hub_repo(project, "main") == "someone/tiny-model"
