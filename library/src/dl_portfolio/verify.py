"""`verify`: every number the project publishes is the number its source gives, at the place it stands.

1. The headline metrics of `reports/latest/metrics.json` (accuracy, macro-F1, weighted-F1, confusion matrix) are
   recomputed from `reports/latest/predictions.csv` with the report's own metric code (metrics.py).
2. Every generated page is rendered again, by the functions `report` wrote it with, from that metrics.json (and
   errors.csv for the table of mistakes): the README pitch, the summary and results blocks of docs/index.md,
   docs/results.md, docs/model-card.md, metrics.json's `display` texts and the site's copy of metrics.json. An export's
   model card, `exports/<run>/README.md`, is rendered again from `reports/<run>/metrics.json` and the export's own
   config.json and export.json, whose file sizes are checked against the files.
3. Each page is compared with its rendering token by token: percentages, counts, intervals, gains, p-values, sizes,
   latencies and the words around them. The first number that differs fails with one line naming the page, its line,
   what it shows and what it should show; a difference in words alone fails the same way (a hand edit, or pages
   written by another version of the library: `make report` writes them again).

Rendering and checking share one source, so they cannot drift apart. The author's own text, outside the generated
blocks, is theirs: verify does not read it. Nothing is written.
"""

import csv
import json
import math
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from . import schema, sweep_report
from .errors import ArgumentParser, UserError
from .formats import fmt_pct
from .layout import Layout
from .metrics import classification_metrics
from .pages import model_card_page, results_page
from .project import prog
from .writeup import block_span, display_block, pitch_block, results_block, summary_block

HEADLINE = ("accuracy", "macro_f1", "weighted_f1")
# A number as the pages write it (signed gains, thousands separators, decimals, exponents, a percent sign), a word,
# or one other character: whitespace is not compared, so a rewrapped line still matches.
TOKEN = re.compile(r"[+\-−]?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?%?|[^\W\d]\w*|\S")
REWRITE = "was it edited by hand? `make report` writes the generated parts again"
# Before any report: a score on a generated part (not the level of an interval, "95% CI", which names no score).
SCORE = re.compile(r"(?<![\w.+])\d+(?:\.\d+)?%(?!\s*(?:CI\b|confidence|bootstrap|interval))")


@dataclass
class Part:
    """A generated part of a page: where it stands (`page`, the offset of `text` in the file) and what it says."""

    page: str
    text: str
    file_text: str
    offset: int
    expected: str
    source: str
    fix: str = REWRITE
    key: str | None = None  # for a value of metrics.json's `display` rather than lines of a page: its key

    def where(self, at: int) -> str:
        """The page and the line of the file at offset `at` of this part (the key of a `display` value)."""
        if self.key:
            return f"{self.page}, display.{self.key}"
        return f"{self.page}:{self.file_text.count(chr(10), 0, self.offset + at) + 1}"


def tokens(text: str) -> list[tuple[str, int]]:
    """(token, offset) of every number, word and sign of `text`."""
    return [(m.group(), m.start()) for m in TOKEN.finditer(text)]


def is_number(token: str) -> bool:
    """Whether a token of `tokens` is a number (a word or a sign is not)."""
    return bool(re.match(r"[+\-−]?\d", token))


def numbers(text: str) -> int:
    """How many numbers `text` shows."""
    return sum(is_number(t) for t, _ in tokens(text))


def difference(part: Part) -> str | None:
    """The first place where `part` differs from what its source gives, as one line; None when it does not.

    A differing number is reported before a differing word, wherever it stands.
    """
    exp, act = tokens(part.expected), tokens(part.text)
    matcher = SequenceMatcher(None, [t for t, _ in exp], [t for t, _ in act], autojunk=False)
    words = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        at = act[j1][1] if j1 < len(act) else len(part.text)
        should = [t for t, _ in exp[i1:i2] if is_number(t)]
        shown = [(t, o) for t, o in act[j1:j2] if is_number(t)]
        where = part.where(shown[0][1] if shown else at)
        if shown and should:
            return f"{where}: shows {shown[0][0]} where {part.source} gives {should[0]}: {part.fix}"
        if shown:
            return f"{where}: shows {shown[0][0]}, which {part.source} does not give: {part.fix}"
        if should:
            return f"{where}: lacks {should[0]}, which {part.source} gives here: {part.fix}"
        if words is None:
            seen = " ".join(t for t, _ in act[j1:j2]) or "nothing"
            meant = " ".join(t for t, _ in exp[i1:i2]) or "nothing"
            words = f"{where}: reads {seen!r} where {part.source} gives {meant!r}: {part.fix}"
    return words


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


def mistakes(report_dir: Path) -> list[dict]:
    """errors.csv's rows as report.write_tables returned them to the results page."""
    path = report_dir / "errors.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return [{**row, "confidence": float(row["confidence"])} for row in csv.DictReader(f)]


def shown(path: Path, root: Path) -> str:
    """A path as the user knows it: relative to the project when inside it."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def page_parts(root: Path, report_dir: Path, m: dict, source: str) -> list[Part]:
    """The generated parts of the README and docs/ with what the report renders for each."""
    pages = [
        ("README.md", {"pitch": pitch_block(m)}),
        ("docs/index.md", {"summary": summary_block(m), "results": results_block(m)}),
    ]
    sweep = sweep_report.section(m) if m.get("sweep") else ""
    whole = [("docs/results.md", results_page(m, mistakes(report_dir)) + sweep), ("docs/model-card.md", None)]
    parts = []
    for rel, blocks in pages:
        text = (root / rel).read_text(encoding="utf-8") if (root / rel).is_file() else ""
        for name, body in blocks.items():
            span = block_span(text, name)
            if span:  # without its markers `report` could not write the block: nothing generated stands there
                parts.append(Part(rel, text[slice(*span)], text, span[0], body, source))
    for rel, body in whole:
        if (root / rel).is_file():
            text = (root / rel).read_text(encoding="utf-8")
            parts.append(Part(rel, text, text, 0, body if body is not None else model_card_page(m), source))
    expected = display_block(m)  # the texts the kit's showcase shows, key by key
    for key in sorted(set(expected) | set(m["display"])):
        text = json.dumps(m["display"].get(key), ensure_ascii=False)
        body = json.dumps(expected.get(key), ensure_ascii=False)
        parts.append(Part(source, text, text, 0, body, source, key=key))
    return parts


def export_parts(root: Path, layout: Layout) -> list[Part]:
    """Each export's model card with what its run's report and the export's measurements render; an export.json
    whose sizes are not its files' fails here."""
    from .model_card import card

    parts = []
    for path in sorted(root.glob("exports/*/README.md")):
        folder, rel, run = path.parent, shown(path, root), path.parent.name
        run_report = layout.report(run)
        if not (run_report / "metrics.json").is_file():
            raise UserError(f"{rel} is of run {run}, which has no report: run `make report RUN={run}`")
        run_m, _ = check_report(run_report, shown(run_report, root))
        config, info = (read_json(folder / n, shown(folder / n, root)) for n in ("config.json", "export.json"))
        fix = f"was it edited by hand? `make export RUN={run}` writes it again"
        for name, size in (info.get("files") or {}).items():
            if name == "README.md":
                continue  # the card itself: rendered again below, which names what differs
            actual = (folder / name).stat().st_size if (folder / name).is_file() else None
            if actual != size:
                now = f"the file has {actual}" if actual is not None else "the file is missing"
                raise UserError(f"{shown(folder, root)}/export.json: says {name} is {size} bytes but {now}: {fix}")
        if "repo_id" not in info:  # the card names its repo: without it the card cannot be written again
            raise UserError(f"{shown(folder, root)}/export.json names no Hub repo (an older export): {fix}")
        source = f"{shown(run_report, root)}/metrics.json with {shown(folder, root)}/export.json"
        text = path.read_text(encoding="utf-8")
        parts.append(Part(rel, text, text, 0, card(run_m, config, info, info["repo_id"], root), source, fix))
    return parts


def verify(root: Path, report_dir: Path | None = None) -> str:
    """Check the report and the pages of the project at `root`; return the summary line, raise UserError if wrong."""
    layout = Layout(root)
    report_dir = report_dir or layout.latest_report
    name = shown(report_dir, root)
    if not (report_dir / "metrics.json").is_file():
        for rel, block in (("README.md", "pitch"), ("docs/index.md", "summary"), ("docs/index.md", "results")):
            text = (root / rel).read_text(encoding="utf-8") if (root / rel).is_file() else ""
            span = block_span(text, block)
            stated = SCORE.search(text, *span) if span else None
            if stated:
                line = text.count("\n", 0, stated.start()) + 1
                raise UserError(
                    f"{rel}:{line}: shows {stated.group()} but there is no {name}/metrics.json: run `make report` "
                    "(and commit reports/)"
                )
        return "verify: no results yet (no report, no numbers on the pages): nothing to check"
    m, n = check_report(report_dir, name)
    published = layout.published_metrics
    if published.is_file() and read_json(published, shown(published, root)) != m:
        raise UserError(f"{shown(published, root)} is not {name}/metrics.json: run `make report` again")
    parts = page_parts(root, report_dir, m, f"{name}/metrics.json") + export_parts(root, layout)
    for part in parts:
        wrong = difference(part)
        if wrong:
            raise UserError(wrong)
    count = sum(numbers(part.text) for part in parts)
    pages = len({part.page for part in parts})
    return (
        f"verify: {count} numbers on {pages} pages are what {name}/metrics.json gives, whose accuracy, macro-F1, "
        f"weighted-F1 and confusion matrix match the {n} predictions of predictions.csv"
    )


def main(argv: list[str]) -> None:
    """`verify [--root DIR] [--report DIR]`: exit 0 when every published number checks out, 2 with one line if not."""
    parser = ArgumentParser(prog=prog("verify"), description="check every number on the pages against its source")
    parser.add_argument("--root", default=".", help="project folder with README.md and docs/ (default: .)")
    parser.add_argument("--report", default=None, help="report folder (default: ROOT/reports/latest)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    print(verify(root, Path(args.report) if args.report else None))
