"""`ready` on a project as baked, then as its owner makes it theirs: every placeholder and every paragraph of the
template's write-up is listed with its fix and blocks; once they are replaced and rewritten and a run on real
(non-sample) data is reported, nothing blocks. `make publish` and `make push-model` on a fresh bake refuse in one
line and change nothing: no gh-pages branch, no site, no push."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dl_portfolio import ready
from dl_portfolio.report import report
from dl_portfolio.runner import train

from .conftest import PACKAGE, PROJECT, train_args, write_splits

MINE = {"Your Name": "Ada Lovelace", "you@example.com": "ada@lovelace.dev", "your-github-username": "ada"}
SHIPPED = ["README.md", "mkdocs.yml", "LICENSE", "pyproject.toml", "docs/index.md", "notebooks/train_on_colab.ipynb"]
# The template's own paragraphs of docs/index.md for this bake (sample data, transformer): section, first words.
PARAGRAPHS = [
    ("Problem", "Millions of tweets are posted every hour, and"),
    ("Data", "This first version runs on the small sample"),
    ("Approach", "I fine-tune a small pretrained sentence encoder (all-MiniLM-"),  # cut at 60 characters
    ("What I learned", "Macro-F1 tells a different story from accuracy when"),
    ("What I learned", "A strong, cheap baseline is the honest yardstick"),
    ("What I learned", "Recording seeds, versions and the exact config with"),
    ("Next steps", "Look through the most confident mistakes and fix"),
    ("Next steps", "Try a larger encoder, or one pretrained on"),
    ("Next steps", "Check how the model holds up on newer"),
]
MY_WORDS = """## Problem

I sort my own feed by topic: a model that reads one tweet and names its topic saves me the scrolling.

## Data

My own labelled tweets about pets, in three classes, split by hand.

## Approach

A bag of n-grams first, because it trains in seconds and tells me whether the data is learnable at all.

## Results
"""
MY_LESSONS = """## What I learned

- Pets are easier to tell apart than topics.

## Next steps

- Label more tweets.
"""


def fresh(tmp_path: Path) -> Path:
    """A copy of the project exactly as baked (without what running its code leaves, such as __pycache__)."""
    ignore = shutil.ignore_patterns("__pycache__", "runs", "reports", "exports", "site", ".cache", "node_modules")
    return Path(shutil.copytree(PROJECT, tmp_path / "project", ignore=ignore))


def ready_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m <package> ready ARGS` in `root`, as `make ready` runs it."""
    return subprocess.run([sys.executable, "-m", PACKAGE, "ready", *args], cwd=root, capture_output=True, text=True)


def lines_with(path: Path, needle: str) -> str:
    """'3,10': the lines of `path` that contain `needle`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return ",".join(str(n) for n, line in enumerate(lines, 1) if needle in line)


def test_a_fresh_bake_lists_every_placeholder_and_template_paragraph_and_blocks(tmp_path):
    root = fresh(tmp_path)
    out = ready_in(root)
    assert out.returncode == 1, out.stderr
    expected = []
    for rel in SHIPPED:  # shipped_files' order; within a file, placeholders in the order of their first line
        found = [(p, lines_with(root / rel, p)) for p in ready.PLACEHOLDERS if lines_with(root / rel, p)]
        for placeholder, lines in sorted(found, key=lambda f: int(f[1].split(",")[0])):
            what = {"Your Name": "the template's author name", "you@example.com": "the template's e-mail"}.get(
                placeholder, "the template's GitHub user (and the links built from it)"
            )
            own = {"Your Name": "your name", "you@example.com": "your e-mail"}.get(placeholder, "your GitHub user name")
            expected.append(f'✗ {rel}:{lines}: {what}, "{placeholder}": put {own} instead')
    for section, start in PARAGRAPHS:
        line = lines_with(root / "docs" / "index.md", start)
        expected.append(
            f'✗ docs/index.md:{line}: the template\'s own words under "{section}" ("{start} …"): rewrite it in your '
            "own words"
        )
    expected += [
        "✗ reports/latest/: no results yet: `make train`, then `make report`",
        "· .: not a git repository: `git init -b main && git add -A && git commit -m 'First version'`",
        "· docs/assets/demo/: no exported model for the Try it page: `make export`, then `make docs`",
        "",
        "                     ready?",
        "  names and links    no: 12 to fix",
        "  write-up prose     no: 9 to fix",
        "  results            no: 1 to fix",
        "  pages              yes",
        "  baseline           yes",
        "  git                no: 1 to fix (not blocking)",
        "  Try it page        no: 1 to fix (not blocking)",
        "",
        "ready: 22 blocking (✗): fix them before you publish or send the project.",
    ]
    assert out.stdout.splitlines() == expected
    gate = ready_in(root, "--gate", "make publish")
    assert gate.returncode == 1 and gate.stdout == ""
    assert gate.stderr == (
        "make publish: refused, 22 things still read as the template or mislead (names and links, write-up prose, "
        "results): `make ready` lists them with their fixes; `make publish FORCE=1` goes ahead anyway.\n"
    )


def test_once_made_theirs_and_reported_on_real_data_nothing_blocks(tmp_path):
    root = fresh(tmp_path)
    for rel in SHIPPED:
        text = (root / rel).read_text(encoding="utf-8")
        for placeholder, mine in MINE.items():
            text = text.replace(placeholder, mine)
        (root / rel).write_text(text, encoding="utf-8")
    index = root / "docs" / "index.md"
    head, rest = index.read_text(encoding="utf-8").split("## Problem\n", 1)
    results = rest.split("## Results\n", 1)[1].split("## What I learned\n", 1)[0]
    index.write_text(head + MY_WORDS + results + MY_LESSONS, encoding="utf-8")
    # A paragraph re-wrapped is still the template's; one word changed makes it the owner's.
    assert [p.check for p in ready.template_paragraphs(root)] == []
    index.write_text(index.read_text() + "\nMillions of tweets are posted every hour, and anyone who follows a topic\n"
                     "(a newsroom, a brand team, a researcher) needs them sorted before they can read them. This "
                     "project builds a model that reads a single tweet and says which topic it is about, and measures "
                     "honestly how often it is right, including on the topics that are rare.\n")  # fmt: skip
    assert [p.where for p in ready.template_paragraphs(root)] == [f"docs/index.md:{lines_with(index, 'Millions')}"]
    index.write_text(index.read_text().replace("Millions of tweets", "Thousands of tweets"))
    assert ready.template_paragraphs(root) == []

    out = ready_in(root)
    assert out.returncode == 1 and out.stdout.splitlines()[0] == (
        "✗ reports/latest/: no results yet: `make train`, then `make report`"
    )
    data = write_splits(tmp_path / "data")
    train(train_args(root, data, "mine", epochs=2))
    report(root, root / "runs", "mine")
    out = ready_in(root)
    assert out.returncode == 0, out.stdout
    assert out.stdout.splitlines() == [
        "· .: not a git repository: `git init -b main && git add -A && git commit -m 'First version'`",
        "· docs/assets/demo/: no exported model for the Try it page: `make export`, then `make docs`",
        "",
        "                     ready?",
        "  names and links    yes",
        "  write-up prose     yes",
        "  results            yes",
        "  pages              yes",
        "  baseline           yes",
        "  git                no: 1 to fix (not blocking)",
        "  Try it page        no: 1 to fix (not blocking)",
        "",
        "ready: nothing blocks publishing (· marks advice).",
    ]
    assert ready_in(root, "--gate", "make publish").returncode == 0

    # Pages older than the latest report block again: here, docs/ put back as it was before the report.
    (root / "docs" / "assets" / "metrics.json").unlink()
    assert [p.line() for p in ready.results(root)] == [
        "✗ docs/: the pages show no results, older than the latest report (run mine): `make report RUN=mine` writes "
        "them again"
    ]


def reported(tmp_path: Path, metrics: dict) -> Path:
    """A project folder whose latest report, reports/r1, has this metrics.json (and nothing else)."""
    root = tmp_path / "project"
    (root / "reports" / "r1").mkdir(parents=True)
    (root / "reports" / "latest").symlink_to("r1")
    (root / "reports" / "r1" / "metrics.json").write_text(json.dumps(metrics))
    return root


def test_a_baseline_that_did_not_earn_its_place_is_advice(tmp_path):
    bow = {
        "run": "b1",
        "accuracy": 0.2,
        "macro_f1": 0.05,
        "epochs": 1,
        "why": "trained 1 of the 30 epochs its preset needs",
    }
    root = reported(tmp_path, {"run": "r1", "baselines": {"bow": bow}})
    assert [p.line() for p in ready.baseline(root)] == [
        "· reports/latest/metrics.json: the bag-of-n-grams run b1 is not a baseline the pages can claim a gain over: "
        'it trained 1 of the 30 epochs its preset needs: `make train MODEL=bow ARGS="--trainer.max_epochs 30"`, then '
        "`make report`"
    ]


def test_a_sample_data_headline_blocks(tmp_path):
    metrics = {"run": "r1", "dataset": {"is_sample": True}}
    root = reported(tmp_path, metrics)
    (root / "docs" / "assets").mkdir(parents=True)
    (root / "docs" / "assets" / "metrics.json").write_text(json.dumps(metrics))
    assert [p.line() for p in ready.results(root)] == [
        "✗ reports/latest/metrics.json: the headline (run r1) is measured on the bundled sample data, not real "
        "tweets: train on real data (`make train DATA=tweet_topic`, or DATA=local with your files), then "
        "`make report`"
    ]


def git(root: Path, *args: str) -> str:
    """`git ARGS` in `root`; its output."""
    ident = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
    out = subprocess.run(["git", *ident, *args], cwd=root, capture_output=True, text=True, check=True)
    return out.stdout


def test_make_publish_and_push_model_on_a_fresh_bake_refuse_in_one_line_and_change_nothing(tmp_path):
    root = fresh(tmp_path)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial commit from dl-portfolio")
    git(root, "remote", "add", "origin", str(bare))
    for target in ("publish", "push-model"):
        out = subprocess.run(["make", target, f"PYTHON={sys.executable}"], cwd=root, capture_output=True, text=True)
        assert out.returncode != 0 and out.stdout == ""
        mine = [line for line in out.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
        assert mine == [
            f"make {target}: refused, 22 things still read as the template or mislead (names and links, write-up "
            f"prose, results): `make ready` lists them with their fixes; `make {target} FORCE=1` goes ahead anyway."
        ]
    assert git(root, "branch", "--list", "--all") == "* main\n"  # no gh-pages, here or pushed
    assert git(root, "status", "--porcelain", "--ignored") == "" and not (root / "site").exists()
    assert subprocess.run(["git", "-C", str(bare), "branch"], capture_output=True, text=True).stdout == ""
