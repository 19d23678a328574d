"""`verify` on a real tiny run: the reported pages pass; a number edited by hand fails with one line naming it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dl_portfolio.formats import fmt_ci, fmt_p, fmt_pct, fmt_points
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.verify import verify

from .conftest import LABELS, PROJECT, new_root, train_args, write_splits
from .test_bad_inputs import snapshot

# Every number a page shows (not the digits inside a word such as a commit hash).
NUMBER = re.compile(r"(?<!\w)[+\-−]?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?%?")
HAND_EDIT = "was it edited by hand? `make report` writes the generated parts again"


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
    shown += [json.dumps(value, ensure_ascii=False) for value in metrics(project)["display"].values()]
    count = sum(len(NUMBER.findall(text)) for text in shown)
    assert count >= 200  # headline, cards, baselines, tables, intervals, counts, p-values: all checked
    out = cli(project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        f"verify: {count} numbers on 5 pages are what reports/latest/metrics.json gives, whose accuracy, macro-F1, "
        "weighted-F1 and confusion matrix match the 18 predictions of predictions.csv"
    )


def bump(number: str) -> str:
    """The same number with its first digit changed: what a hand edit of it looks like."""
    at = next(i for i, c in enumerate(number) if c.isdigit())
    return number[:at] + str((int(number[at]) + 1) % 10) + number[at + 1 :]


def places(m: dict) -> list[tuple[str, str, str]]:
    """(page, text around a number, the number) for one number of each kind on each generated page."""
    acc, f1, wf1 = (fmt_pct(m["metrics"][k]) for k in ("accuracy", "macro_f1", "weighted_f1"))
    ci = fmt_ci(m["intervals"]["macro_f1"])
    gain = m["significance"]["majority"]["macro_f1"]
    p = fmt_p(m["significance"]["majority"]["mcnemar"]["p_value"])
    support = str(m["per_class"][LABELS[0]]["support"])
    return [
        ("README.md", f"**{acc} accuracy**", acc),  # the pitch's headline
        ("README.md", "on the 18 test examples", "18"),  # a count
        ("docs/index.md", f"{fmt_points(gain['difference'])} macro-F1 points", fmt_points(gain["difference"])),  # gain
        ("docs/index.md", f'"metric__value">{wf1}<', wf1),  # a metric card
        ("docs/index.md", f"({ci})", ci.split("–")[1]),  # an interval's upper end
        ("docs/results.md", f"| {p} (", p.split()[-1]),  # a p-value
        ("docs/results.md", f"Weighted-F1 of this model: {wf1}", wf1),
        ("docs/results.md", f"| {support} |", support),  # a support in the per-class table
        ("docs/model-card.md", f"Weighted-F1: {wf1}", wf1),
        ("docs/model-card.md", f"| {f1} ({ci}) |", f1),  # the comparison table's macro-F1
    ]


def test_each_kind_of_number_edited_on_each_page_fails_with_one_line_naming_it(project):
    m = metrics(project)
    for page, around, number in places(m):
        path = project / page
        text = path.read_text()
        at = text.index(around) + around.index(number)
        path.write_text(text[:at] + bump(number) + text[at + len(number) :])
        before = snapshot(project)
        out = cli(project)
        assert snapshot(project) == before  # verify writes nothing
        path.write_text(text)
        line = text.count("\n", 0, at) + 1
        assert out.returncode == 2 and out.stdout == "", page
        assert out.stderr.splitlines() == [
            f"error: {page}:{line}: shows {bump(number)} where reports/latest/metrics.json gives {number}: {HAND_EDIT}"
        ], (page, around)


def test_a_number_added_or_removed_or_a_word_changed_fails_too(project):
    readme = project / "README.md"
    text = readme.read_text()
    acc = fmt_pct(metrics(project)["metrics"]["accuracy"])
    line = text.count("\n", 0, text.index(f"**{acc} accuracy**")) + 1
    edits = [
        (f"**{acc} accuracy**", f"**{acc} accuracy** (top 3 of 40 entries)", "shows 3, which"),
        (f"**{acc} accuracy** (95% CI ", "**accuracy** (95% CI ", f"lacks {acc}, which"),
        (f"**{acc} accuracy**", f"**{acc} precision**", "reads 'precision' where"),
    ]
    for old, new, says in edits:
        readme.write_text(text.replace(old, new, 1))
        out = cli(project)
        assert out.returncode == 2 and out.stderr.startswith(f"error: README.md:{line}: {says}"), out.stderr
        assert len(out.stderr.splitlines()) == 1
    readme.write_text(text)
    assert cli(project).returncode == 0


def test_the_display_texts_are_checked_key_by_key(project):
    file = project / "reports" / "latest" / "metrics.json"
    m = json.loads(file.read_text())
    shown = m["display"]["test_examples"]
    m["display"]["test_examples"] = bump(shown)
    for copy in (file, project / "docs" / "assets" / "metrics.json"):  # the report's and the site's
        copy.write_text(json.dumps(m))
    out = cli(project)
    assert out.returncode == 2
    assert out.stderr == (
        f"error: reports/latest/metrics.json, display.test_examples: shows {bump(shown)} where "
        f"reports/latest/metrics.json gives {shown}: {HAND_EDIT}\n"
    )


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
