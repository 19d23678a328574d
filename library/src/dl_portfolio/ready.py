"""`ready`: what still reads as the template or would mislead a reader, one line each with its fix (`make ready`).

Blocking, so the command exits 1 and `make publish` / `make push-model` refuse: the template's placeholders (name,
e-mail, GitHub user and the links built from it, copyright) in a file that ships; write-up paragraphs still word
for word the template's; no results yet, or a headline measured on the bundled sample; pages that show another
report than the latest. Listed but not blocking: a bag-of-n-grams baseline that did not earn its place (the pages
then claim no gain over it), results not committed, no git remote, no model on the Try it page, no picture of it in
the README. It ends with a short table of what is ready.

Only the standard library and the project's files: it runs without torch (the docs workflow runs it too).
"""

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import prose, template_prose
from .baseline import BOW_EPOCHS
from .layout import Layout
from .project import prog

# The cookiecutter defaults of the prompts a project must answer for itself (the kit's tests keep them equal to
# cookiecutter.json), and what each one stands for.
PLACEHOLDERS = {
    "Your Name": "the template's author name",
    "you@example.com": "the template's e-mail",
    "your-github-username": "the template's GitHub user (and the links built from it)",
}
OWN = {
    "Your Name": "your name",
    "you@example.com": "your e-mail",
    "your-github-username": "your GitHub user name",
}
# Files `make report` and `make export` write whole: fixed at their source, then written again.
GENERATED = {"docs/results.md": "make report", "docs/model-card.md": "make report"}
PICTURE = "docs/assets/try-it.png"


@dataclass(frozen=True)
class Problem:
    """One thing to fix: which check found it, where, what is wrong and how to fix it."""

    check: str
    where: str
    what: str
    fix: str
    blocking: bool = True

    def line(self) -> str:
        """The problem as one line, its fix after the colon."""
        return f"{'✗' if self.blocking else '·'} {self.where}: {self.what}: {self.fix}"


def shipped_files(root: Path) -> list[Path]:
    """Every file a reader sees: README, mkdocs.yml, LICENSE, pyproject.toml, the docs pages, the exported model
    cards and the notebooks."""
    files = [root / name for name in ("README.md", "mkdocs.yml", "LICENSE", "pyproject.toml")]
    files += sorted((root / "docs").rglob("*.md")) + sorted(root.glob("exports/*/README.md"))
    files += sorted(root.glob("notebooks/*.ipynb"))
    return [path for path in files if path.is_file()]


def placeholders(root: Path) -> list[Problem]:
    """One problem per file and placeholder, with the lines it is on (in the order of their first line)."""
    found = []
    for path in shipped_files(root):
        rel = path.relative_to(root).as_posix()
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        hits = {p: [n for n, line in enumerate(lines, 1) if p in line] for p in PLACEHOLDERS}
        for placeholder, numbers in sorted((kv for kv in hits.items() if kv[1]), key=lambda kv: kv[1][0]):
            fix = f"put {OWN[placeholder]} instead"
            if rel in GENERATED or rel.startswith("exports/"):
                maker = GENERATED.get(rel, "make export")
                fix = f"generated: fix mkdocs.yml and pyproject.toml first, then `{maker}` writes it again"
            where = f"{rel}:{','.join(map(str, numbers))}"
            found.append(Problem("names and links", where, f'{PLACEHOLDERS[placeholder]}, "{placeholder}"', fix))
    return found


def template_paragraphs(root: Path) -> list[Problem]:
    """One problem per paragraph of docs/index.md that is still the template's, word for word."""
    page = Layout(root).docs / "index.md"
    if not page.is_file():
        return []
    found = []
    for paragraph in prose.paragraphs(page.read_text(encoding="utf-8", errors="replace")):
        if paragraph.fingerprint in template_prose.PARAGRAPHS:
            start = " ".join(paragraph.text.split()[:8])[:60]
            found.append(
                Problem(
                    "write-up prose",
                    f"docs/index.md:{paragraph.line}",
                    f'the template\'s own words under "{paragraph.section}" ("{start} …")',
                    "rewrite it in your own words",
                )
            )
    return found


def read_json(path: Path) -> dict | None:
    """A JSON file, None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def results(root: Path) -> list[Problem]:
    """No report yet, a headline measured on the bundled sample, pages that show another report than the latest."""
    layout = Layout(root)
    latest = read_json(layout.latest_report / "metrics.json")
    if latest is None:
        return [Problem("results", "reports/latest/", "no results yet", "`make train`, then `make report`")]
    found = []
    if latest.get("dataset", {}).get("is_sample"):
        found.append(
            Problem(
                "results",
                "reports/latest/metrics.json",
                f"the headline (run {latest.get('run')}) is measured on the bundled sample data, not real tweets",
                "train on real data (`make train DATA=tweet_topic`, or DATA=local with your files), then `make report`",
            )
        )
    shown = read_json(layout.published_metrics)
    if shown != latest:
        which = f"run {shown.get('run')}" if shown else "no results"
        found.append(
            Problem(
                "pages",
                "docs/",
                f"the pages show {which}, older than the latest report (run {latest.get('run')})",
                f"`make report RUN={latest.get('run')}` writes them again",
            )
        )
    return found


def baseline(root: Path) -> list[Problem]:
    """A bag-of-n-grams baseline the latest report did not compare with (dl_portfolio.baseline says why)."""
    latest = read_json(Layout(root).latest_report / "metrics.json") or {}
    bow = (latest.get("baselines") or {}).get("bow")
    if not bow or not bow.get("why"):
        return []
    what = f"the bag-of-n-grams run {bow.get('run')} is not a baseline the pages can claim a gain over: it {bow['why']}"
    fix = f'`make train MODEL=bow ARGS="--trainer.max_epochs {BOW_EPOCHS}"`, then `make report`'
    return [Problem("baseline", "reports/latest/metrics.json", what, fix, blocking=False)]


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`git ARGS` in `root`, its output captured."""
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def repository(root: Path) -> list[Problem]:
    """Not a git repository, results not committed, no remote to push to (advice: publishing works without)."""
    try:
        inside = git(root, "rev-parse", "--is-inside-work-tree").returncode == 0
    except FileNotFoundError:
        return [Problem("git", ".", "git is not installed", "install git, then `git init`", blocking=False)]
    if not inside:
        fix = "`git init -b main && git add -A && git commit -m 'First version'`"
        return [Problem("git", ".", "not a git repository", fix, blocking=False)]
    found = []
    changed = git(root, "status", "--porcelain", "--", "reports", "docs", "README.md").stdout.splitlines()
    if changed:
        names = ", ".join(line[3:] for line in changed[:3]) + (", …" if len(changed) > 3 else "")
        found.append(
            Problem(
                "git",
                "reports/ docs/ README.md",
                f"{len(changed)} changed files of the results are not committed ({names})",
                "`git add reports docs README.md && git commit -m 'Results'`",
                blocking=False,
            )
        )
    if not git(root, "remote").stdout.strip():
        found.append(
            Problem(
                "git",
                ".",
                "no git remote: the README's and the write-up's links point at a repository that is not there yet",
                "create it on GitHub, then `git remote add origin <its URL> && git push -u origin main`",
                blocking=False,
            )
        )
    return found


def try_it(root: Path) -> list[Problem]:
    """No model on the Try it page, no picture of it in the README (advice)."""
    docs = Layout(root).docs
    demo = read_json(docs / "assets" / "demo" / "demo.json") or {}
    if not demo.get("file"):
        fix = "`make export`, then `make docs`"
        return [Problem("Try it page", "docs/assets/demo/", "no exported model for the Try it page", fix, False)]
    if not (root / PICTURE).is_file():
        fix = "`make docs` takes it (it needs Chromium)"
        return [Problem("Try it page", PICTURE, "no picture of the Try it page for the README", fix, False)]
    return []


CHECKS = (placeholders, template_paragraphs, results, baseline, repository, try_it)
BLOCKING = (placeholders, template_paragraphs, results)
ROWS = ("names and links", "write-up prose", "results", "pages", "baseline", "git", "Try it page")


def table(problems: list[Problem]) -> str:
    """What is ready, one row per check: 'yes', or how many problems it has."""
    lines = ["", f"  {'':18} ready?"]
    for row in ROWS:
        mine = [p for p in problems if p.check == row]
        state = "yes" if not mine else f"no: {len(mine)} to fix" + ("" if mine[0].blocking else " (not blocking)")
        lines.append(f"  {row:18} {state}")
    return "\n".join(lines)


def refusal(what: str, blocking: list[Problem], override: str) -> str:
    """The one line `--gate` prints: what is refused, how much blocks it, where the list is, how to go ahead."""
    kinds = ", ".join(dict.fromkeys(p.check for p in blocking))
    return (
        f"{what}: refused, {len(blocking)} things still read as the template or mislead ({kinds}): `make ready` lists "
        f"them with their fixes; {override} goes ahead anyway."
    )


def main(argv: list[str]) -> None:
    """`ready [--root DIR] [--gate WHAT [--override HOW]]`: exit 1 when something blocks; --gate prints one line
    instead of the list (for `make publish`, `make push-model` and the docs workflow)."""
    parser = argparse.ArgumentParser(prog=prog("ready"), description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project folder (default: .)")
    parser.add_argument("--gate", metavar="WHAT", help="only the blocking checks, before WHAT (e.g. 'make publish')")
    parser.add_argument("--override", metavar="HOW", help="how to go ahead anyway (default: `WHAT FORCE=1`)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.gate:
        blocking = [p for check in BLOCKING for p in check(root)]
        if blocking:
            print(refusal(args.gate, blocking, args.override or f"`{args.gate} FORCE=1`"), file=sys.stderr)
            sys.exit(1)
        return
    problems = [p for check in CHECKS for p in check(root)]
    blocking = sum(p.blocking for p in problems)
    for problem in problems:
        print(problem.line())
    print(table(problems))
    if blocking:
        print(f"\nready: {blocking} blocking (✗): fix them before you publish or send the project.")
        sys.exit(1)
    print("\nready: nothing blocks publishing" + (" (· marks advice)." if problems else "."))
