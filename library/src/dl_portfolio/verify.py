"""`verify`: the numbers the project claims are the numbers its predictions give.

1. The headline metrics of `reports/latest/metrics.json` (accuracy, macro-F1, weighted-F1, confusion matrix) are
   recomputed from `reports/latest/predictions.csv` with the report's own metric code (metrics.py).
2. Every percentage on the generated parts of the pages (the README pitch block, the summary and results blocks of
   docs/index.md, docs/results.md, docs/model-card.md, metrics.json's `display` texts) must be one of metrics.json's
   scores written with `fmt_pct` (or a confidence of a mistake results.md lists from errors.csv). An export's model
   card, `exports/<run>/README.md`, is checked the same way against `reports/<run>/` and its own export.json.

Why a check by number rather than regenerating the pages and comparing their text: the page text changes with the
kit (a `cruft update` rewords a sentence, a new release adds a table) while the numbers of a run do not, and other
code writes pages too (an export's model card) whose layout this module need not know. A percentage that is not a
score of the run is wrong wherever it stands. What this cannot see: two of the run's own numbers swapped.
A failure is one line naming the page, its line and the number; nothing is written.
"""

import csv
import json
import math
import re
from pathlib import Path

from . import schema
from .errors import ArgumentParser, UserError
from .formats import fmt_pct
from .layout import Layout
from .metrics import classification_metrics
from .project import prog

# Generated parts of the pages: (path relative to the project, marker names; None = the whole page is generated).
PAGES = [("README.md", ("pitch",)), ("docs/index.md", ("summary", "results")), ("docs/results.md", None)]
PAGES += [("docs/model-card.md", None)]
# A percentage, but not the level of an interval ("95% CI", "95% bootstrap intervals": that names no score), or an
# interval of percentages as `fmt_ci` writes it ("85.8–89.0").
PERCENT = re.compile(
    r"(?<![\w.+])(?:\d+(?:\.\d+)?%(?!\s*(?:CI\b|confidence|bootstrap|interval))|\d+\.\d–\d+\.\d(?![\d%]))"
)
# metrics.json keys whose numbers are not scores (settings, sizes, times), and the texts written from the scores.
NOT_SCORES = {"config", "versions", "hardware", "git", "dataset", "model", "links", "figures", "seed", "display"}
NOT_SCORES |= {"train_wall_seconds", "confusion_matrix", "support"}
HEADLINE = ("accuracy", "macro_f1", "weighted_f1")


def scores(value, key: str = "") -> list[float]:
    """Every float of a metrics.json subtree, skipping the keys that hold no scores."""
    if key in NOT_SCORES:
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in scores(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in scores(v, key)]
    return [value] if isinstance(value, float) else []


def generated_parts(text: str, names: tuple[str, ...] | None) -> list[tuple[int, str]]:
    """(offset, text) of each generated part of a page: the named marker blocks, or the whole page."""
    if names is None:
        return [(0, text)]
    parts = []
    for name in names:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if text.count(start) == 1 and text.count(end) == 1 and text.index(start) < text.index(end):
            begin = text.index(start) + len(start)
            parts.append((begin, text[begin : text.index(end)]))
    return parts


def stated(number: str, allowed: set[str]) -> bool:
    """Whether a number of a page is one of the `allowed` percentages (both ends of an interval)."""
    return all(f"{end.rstrip('%')}%" in allowed for end in number.split("–"))


def claims(path: Path, names: tuple[str, ...] | None, rel: str) -> list[tuple[str, int, str]]:
    """(page, line, percentage) of every percentage on the generated parts of the page at `path`, if it exists."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    found = []
    for offset, part in generated_parts(text, names):
        for match in PERCENT.finditer(part):
            found.append((rel, text.count("\n", 0, offset + match.start()) + 1, match.group()))
    return found


def read_predictions(path: Path, labels: list[str], rel: str) -> tuple[list[int], list[int]]:
    """Gold and predicted label ids of predictions.csv; a predicted label must be the row's most probable one."""
    index = {label: i for i, label in enumerate(labels)}
    gold, pred = [], []
    with path.open(newline="", encoding="utf-8") as f:
        for row_number, row in enumerate(csv.DictReader(f), start=2):
            try:
                g, p = index[row["gold"]], index[row["predicted"]]
                probs = [float(row[f"p({label})"]) for label in labels]
            except (KeyError, TypeError, ValueError) as err:
                raise UserError(f"{rel}:{row_number}: not a row of `make report`'s predictions ({err})") from None
            if max(range(len(probs)), key=probs.__getitem__) != p:
                raise UserError(f"{rel}:{row_number}: predicted {row['predicted']!r} is not its most probable label")
            gold.append(g)
            pred.append(p)
    return gold, pred


def read_json(path: Path, rel: str) -> dict:
    """A JSON file `make report` (or `make export`) wrote; a broken one is a UserError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{rel} is not valid JSON ({err}): run `make report` again") from None


def check_report(report_dir: Path, shown_dir: str) -> tuple[dict, int]:
    """metrics.json of a report, after checking its headline scores and confusion matrix against predictions.csv."""
    m = schema.check(read_json(report_dir / "metrics.json", f"{shown_dir}/metrics.json"), f"{shown_dir}/metrics.json")
    labels = m["confusion_matrix"]["labels"]
    predictions = report_dir / "predictions.csv"
    if not predictions.is_file():
        raise UserError(f"{shown_dir}/predictions.csv is missing: run `make report` (and commit reports/)")
    gold, pred = read_predictions(predictions, labels, f"{shown_dir}/predictions.csv")
    recomputed = classification_metrics(gold, pred, labels)
    for key in HEADLINE:
        claimed, actual = m["metrics"][key], recomputed[key]
        if not math.isclose(claimed, actual, rel_tol=0, abs_tol=1e-9):
            raise UserError(
                f"{shown_dir}/metrics.json: {key} is {claimed!r} but {shown_dir}/predictions.csv gives {actual!r} "
                f"({fmt_pct(claimed)} vs {fmt_pct(actual)}): run `make report` again"
            )
    if m["confusion_matrix"]["matrix"] != recomputed["matrix"]:
        raise UserError(f"{shown_dir}/metrics.json: its confusion matrix is not the one predictions.csv gives")
    return m, len(gold)


def allowed_numbers(report_dir: Path, m: dict) -> set[str]:
    """What a page written from this report may show: its scores, and the mistakes results.md lists from errors.csv
    (their confidences, and any percentage in their texts)."""
    allowed = {fmt_pct(s) for s in scores(m)}
    errors_csv = report_dir / "errors.csv"
    if errors_csv.is_file():
        with errors_csv.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                allowed |= {fmt_pct(float(row["confidence"])), *PERCENT.findall(row["text"])}
    return allowed


def shown(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the project when inside it."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def verify(root: Path, report_dir: Path | None = None) -> str:
    """Check the report and the pages of the project at `root`; return the summary line, raise UserError if wrong."""
    layout = Layout(root)
    report_dir = report_dir or layout.latest_report
    name = shown(report_dir, root)
    found = [c for rel, names in PAGES for c in claims(root / rel, names, rel)]
    if not (report_dir / "metrics.json").is_file():
        if found:
            page, line, number = found[0]
            raise UserError(
                f"{page}:{line}: shows {number} but there is no {name}/metrics.json: run `make report` (and commit "
                "reports/)"
            )
        return "verify: no results yet (no report, no numbers on the pages): nothing to check"
    m, n = check_report(report_dir, name)
    published = layout.published_metrics
    if published.is_file() and read_json(published, shown(published, root)) != m:
        raise UserError(f"{shown(published, root)} is not {name}/metrics.json: run `make report` again")
    display = json.dumps(m.get("display"), ensure_ascii=False)  # the texts the kit's showcase shows
    found += [(f"{name}/metrics.json (display)", 1, number) for number in PERCENT.findall(display)]
    allowed = allowed_numbers(report_dir, m)
    wrong = [(page, line, number, name) for page, line, number in found if not stated(number, allowed)]

    # An export's model card is written from its own run's report and the export's measurements (export.json).
    for card in sorted(root.glob("exports/*/README.md")):
        rel, run_report = shown(card, root), layout.report(card.parent.name)
        if not (run_report / "metrics.json").is_file():
            raise UserError(f"{rel} is of run {card.parent.name}, which has no report: run `make report RUN=...`")
        run_m, _ = check_report(run_report, shown(run_report, root))
        export_json = card.parent / "export.json"
        own = scores(read_json(export_json, shown(export_json, root))) if export_json.is_file() else []
        numbers = claims(card, None, rel)
        found += numbers
        ok = allowed_numbers(run_report, run_m) | {fmt_pct(x) for x in own}
        wrong += [(*c, shown(run_report, root)) for c in numbers if not stated(c[2], ok)]

    if wrong:
        page, line, number, source = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise UserError(
            f"{page}:{line}: {number} is not a number of {source}/metrics.json{more}: was it edited by hand? "
            "`make report` rewrites the generated parts"
        )
    pages = len({page for page, _, _ in found})
    return (
        f"verify: {len(found)} numbers on {pages} pages match {name}/metrics.json, whose accuracy, macro-F1, "
        f"weighted-F1 and confusion matrix match the {n} predictions of predictions.csv"
    )


def main(argv: list[str]) -> None:
    """`verify [--root DIR] [--report DIR]`: exit 0 when every claimed number checks out, 2 with one line if not."""
    parser = ArgumentParser(prog=prog("verify"), description="check every number on the pages against metrics.json")
    parser.add_argument("--root", default=".", help="project folder with README.md and docs/ (default: .)")
    parser.add_argument("--report", default=None, help="report folder (default: ROOT/reports/latest)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    print(verify(root, Path(args.report) if args.report else None))
