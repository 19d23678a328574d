"""Where examples come from: the bundled sample, local files, a Hugging Face hub data set, or collected tweets.

Every source returns the same thing: `{"train": [...], "validation": [...], "test": [...]}` of `(text, label)` pairs
with labels as strings. Checks that apply to every source live in `data.py`.
"""

import random
from collections import defaultdict
from importlib import resources
from pathlib import Path

from dl_portfolio.errors import UserError
from dl_portfolio.tables import FORMATS, read_collected_jsonl, read_table

SPLITS = ("train", "validation", "test")
Example = tuple[str, str]


def to_examples(rows: list[dict], text_column: str, label_column: str, where: str, names=None) -> list[Example]:
    """Pick the text and label columns; integer labels are mapped through `names` when given."""
    if rows and (text_column not in rows[0] or label_column not in rows[0]):
        raise UserError(
            f"{where} has columns {sorted(rows[0])}, not {text_column!r} and {label_column!r}: "
            "set data.text_column and data.label_column to the right names."
        )
    out = []
    for number, row in enumerate(rows, 1):
        text, label = row.get(text_column), row.get(label_column)  # a later JSONL row may lack a key
        if names is not None and isinstance(label, int):
            # -1 is how hub data sets mark an unlabelled example: names[-1] would be a wrong label, silently.
            label = names[label] if 0 <= label < len(names) else None
        text = "" if text is None else str(text)
        if text.strip() and (label is None or not str(label).strip()):
            raise UserError(f"{where} row {number} has a text but no {label_column!r}: label it or remove the row.")
        out.append((text, "" if label is None else str(label).strip()))
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


def load_sample(splits=SPLITS) -> dict[str, list[Example]]:
    """The sample data bundled with the project: short texts written for it, fixed splits (those in `splits`)."""
    folder = resources.files(__package__) / "sample_data"
    out = {}
    for split in splits:
        with resources.as_file(folder / f"{split}.csv") as path:
            out[split] = to_examples(read_table(Path(path)), "text", "label", f"sample_data/{split}.csv")
    return out


def load_local(
    path: str, text_column: str, label_column: str, fractions, seed: int, splits=SPLITS, encoding: str = "utf-8"
) -> dict[str, list[Example]]:
    """A folder with train/validation/test files (csv, jsonl or parquet), or one file split stratified.

    Only the files of `splits` are opened: a sweep's trials leave the test file unread.
    """
    root = Path(path)
    if root.is_file():
        rows = to_examples(read_table(root, encoding), text_column, label_column, str(root))
        return stratified_split(rows, fractions, seed)
    if not root.is_dir():
        raise UserError(f"data.path {root} does not exist: point it at a folder of split files or at one file.")
    out = {}
    for split in splits:
        found = [root / f"{split}{ext}" for ext in FORMATS if (root / f"{split}{ext}").is_file()]
        if not found:
            raise UserError(f"{root} has no {split} file: add {split}.csv, {split}.jsonl or {split}.parquet.")
        out[split] = to_examples(read_table(found[0], encoding), text_column, label_column, str(found[0]))
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
    """Tweets gathered by `collect` (JSONL files in `path`), split stratified and seeded."""
    folder = Path(path)
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    rows = [(row["text"], row["label"]) for file in files for row in read_collected_jsonl(file)[0]]
    if not rows:
        # Reading needs no X API client; only the hint depends on whether this project was baked with `collect`.
        how = (
            "run `make collect` first (it needs TWITTER_BEARER_TOKEN in .env)"
            if Path("configs/collect.yaml").is_file()
            else "this project has no `collect` command (baked without dataset=collected_tweets): put JSONL files "
            'of {"id", "text", "label"} there, or use data.source local with your own files.'
        )
        raise UserError(f"no collected tweets in {folder}: {how}")
    return stratified_split(rows, fractions, seed)
