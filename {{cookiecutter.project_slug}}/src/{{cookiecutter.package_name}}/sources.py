"""Where examples come from: the bundled sample, local files, a Hugging Face hub data set, or collected tweets.

Every source returns the same thing: `{"train": [...], "validation": [...], "test": [...]}` of `(text, label)` pairs
with labels as strings. Checks that apply to every source live in `data.py`.
"""

import csv
import json
import random
from collections import defaultdict
from importlib import resources
from pathlib import Path

from .errors import UserError

SPLITS = ("train", "validation", "test")
FORMATS = (".csv", ".jsonl", ".parquet")
Example = tuple[str, str]


def read_table(path: Path) -> list[dict]:
    """Read a CSV, JSONL or Parquet file into a list of row dicts."""
    if not path.is_file():
        raise UserError(f"data file {path} does not exist: check data.path in your config.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                return list(csv.DictReader(f))
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
    except (csv.Error, json.JSONDecodeError, UnicodeDecodeError, OSError, ValueError) as err:
        raise UserError(f"{path} is not a readable {suffix[1:]} file ({err}): fix or re-export it.") from None
    raise UserError(f"{path} has an unsupported format: use one of {', '.join(FORMATS)}.")


def to_examples(rows: list[dict], text_column: str, label_column: str, where: str, names=None) -> list[Example]:
    """Pick the text and label columns; integer labels are mapped through `names` when given."""
    if rows and (text_column not in rows[0] or label_column not in rows[0]):
        raise UserError(
            f"{where} has columns {sorted(rows[0])}, not {text_column!r} and {label_column!r}: "
            "set data.text_column and data.label_column to the right names."
        )
    out = []
    for row in rows:
        label = row[label_column]
        if names is not None and isinstance(label, int):
            label = names[label]
        out.append(("" if row[text_column] is None else str(row[text_column]), str(label)))
    return out


def stratified_split(examples: list[Example], fractions: tuple[float, float], seed: int) -> dict[str, list[Example]]:
    """Split one list into train/validation/test with the same label proportions in each, reproducibly."""
    by_label = defaultdict(list)
    for ex in examples:
        by_label[ex[1]].append(ex)
    rng = random.Random(seed)
    out = {split: [] for split in SPLITS}
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n_val, n_test = (round(len(group) * f) for f in fractions)
        out["test"] += group[:n_test]
        out["validation"] += group[n_test : n_test + n_val]
        out["train"] += group[n_test + n_val :]
    return out


def load_sample() -> dict[str, list[Example]]:
    """The sample data bundled with the project: short texts written for it, fixed splits."""
    folder = resources.files(__package__) / "sample_data"
    out = {}
    for split in SPLITS:
        with resources.as_file(folder / f"{split}.csv") as path:
            out[split] = to_examples(read_table(Path(path)), "text", "label", f"sample_data/{split}.csv")
    return out


def load_local(path: str, text_column: str, label_column: str, fractions, seed: int) -> dict[str, list[Example]]:
    """A folder with train/validation/test files (csv, jsonl or parquet), or one file split stratified."""
    root = Path(path)
    if root.is_file():
        rows = to_examples(read_table(root), text_column, label_column, str(root))
        return stratified_split(rows, fractions, seed)
    if not root.is_dir():
        raise UserError(f"data.path {root} does not exist: point it at a folder of split files or at one file.")
    out = {}
    for split in SPLITS:
        found = [root / f"{split}{ext}" for ext in FORMATS if (root / f"{split}{ext}").is_file()]
        if not found:
            raise UserError(f"{root} has no {split} file: add {split}.csv, {split}.jsonl or {split}.parquet.")
        out[split] = to_examples(read_table(found[0]), text_column, label_column, str(found[0]))
    return out


def load_hub(hub_id: str, name, splits: dict, text_column: str, label_column: str) -> dict[str, list[Example]]:
    """A Hugging Face hub data set (or a local copy saved with `save_to_disk`), its splits renamed by `splits`."""
    import datasets

    try:
        ds = datasets.load_from_disk(hub_id) if Path(hub_id).is_dir() else datasets.load_dataset(hub_id, name)
    except Exception as err:  # datasets raises many types when offline; all mean "could not get it"
        raise UserError(
            f"could not load the data set {hub_id!r} ({type(err).__name__}): check the id and your network, or "
            "save it with `datasets` and set data.hub_id to that folder, or use data=sample."
        ) from None
    out = {}
    for ours, theirs in splits.items():
        if theirs not in ds:
            raise UserError(f"{hub_id} has no split {theirs!r} (it has {sorted(ds)}): fix data.splits.")
        feature = ds[theirs].features.get(label_column)
        names = getattr(feature, "names", None)
        out[ours] = to_examples(ds[theirs].to_list(), text_column, label_column, f"{hub_id}[{theirs}]", names)
    return out


def load_collected(path: str, fractions, seed: int) -> dict[str, list[Example]]:
    """Tweets gathered by `collect`, split stratified and seeded."""
    from .collect import load_collected as read_jsonl

    rows = [(r["text"], r["label"]) for r in read_jsonl(path)]
    return stratified_split(rows, fractions, seed)
