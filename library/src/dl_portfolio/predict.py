"""`predict`: the topic and class probabilities of texts, with the best checkpoint of a run.

- `predict --text "Great match tonight!" [--text ...]`: the label and every class probability of each text.
- `predict --file tweets.txt [--output predictions.csv]`: one text per line (or a csv/jsonl/parquet `text` column).
"""

from pathlib import Path

from . import runs
from .errors import ArgumentParser, UserError
from .files import write_csv
from .formats import fmt_pct
from .project import prog


def read_texts(path: Path, column: str = "text") -> list[str]:
    """Texts from a .txt file (one per non-empty line) or a csv/jsonl/parquet file's `column`."""
    from .tables import decode, read_table

    if not path.is_file():
        raise UserError(f"{path} does not exist: give --file a text file with one text per line.")
    if path.suffix.lower() in (".csv", ".jsonl", ".parquet"):
        rows = read_table(path)
        if rows and column not in rows[0]:
            raise UserError(f"{path} has columns {sorted(rows[0])}, no {column!r}: set --column to the text column.")
        return [str(row[column] or "") for row in rows]
    text = decode(path, other="convert it, e.g. iconv -f cp1252 -t utf-8")  # not UTF-8: one line naming the line
    return [line.strip() for line in text.splitlines() if line.strip()]


def predict(run_dir: Path, texts: list[str]) -> list[dict]:
    """`[{"text", "label", "confidence", "probs": {label: p}}]` with the run's best checkpoint."""
    from .inference import argmax, predict_proba

    model = runs.Run(run_dir, run_dir.parent).model
    labels = list(model.hparams.labels)
    out = []
    for text, p in zip(texts, predict_proba(model, texts), strict=True):
        best = argmax(p)
        probs = dict(zip(labels, p, strict=True))
        out.append({"text": text, "label": labels[best], "confidence": p[best], "probs": probs})
    return out


def write_predictions(path: Path, results: list[dict]) -> None:
    """Predictions as CSV: text, label, confidence, then one probability column per class."""
    labels = list(results[0]["probs"]) if results else []
    rows = [[r["text"], r["label"], r["confidence"], *r["probs"].values()] for r in results]
    write_csv(path, ["text", "label", "confidence", *(f"p({label})" for label in labels)], rows)


def main(argv: list[str]) -> None:
    """Parse the options, predict, print (and write --output)."""
    parser = ArgumentParser(prog=prog("predict"), description=__doc__.splitlines()[0])
    parser.add_argument("--text", action="append", default=[], help="a text to classify (repeatable)")
    parser.add_argument("--file", type=Path, help="file of texts: .txt one per line, or csv/jsonl/parquet")
    parser.add_argument("--column", default="text", help="text column of a csv/jsonl/parquet --file")
    parser.add_argument("--output", type=Path, help="also write the predictions to this CSV file")
    parser.add_argument("--run", default=None, help="run folder name in runs/ (default: runs/latest)")
    parser.add_argument("--runs_dir", "--runs-dir", default="runs", help="where the runs are")
    args = parser.parse_args(argv)
    texts = [t for t in args.text if t.strip()] + (read_texts(args.file, args.column) if args.file else [])
    if not texts:
        raise UserError('nothing to classify: give --text "..." or --file FILE (make predict TEXT="..." or FILE=...).')
    results = predict(runs.resolve(Path(args.runs_dir), args.run), texts)
    if len(results) == 1 and not args.file:
        r = results[0]
        print(f"{r['label']} ({fmt_pct(r['confidence'])})")
        width = max(map(len, r["probs"]))
        for label, p in sorted(r["probs"].items(), key=lambda kv: -kv[1]):
            print(f"  {label:<{width}}  {fmt_pct(p):>6}")
    else:
        for r in results:
            print(f"{r['label']}\t{fmt_pct(r['confidence'])}\t{r['text']}")
    if args.output:
        write_predictions(args.output, results)
        print(f"wrote {len(results)} predictions to {args.output}")
