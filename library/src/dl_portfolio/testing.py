"""Tiny data and a tiny randomly initialised BERT, made on the spot: tests of a project's code and of the library
never download anything. A pytest plugin: `pytest_plugins = ["dl_portfolio.testing"]` in a conftest.py gives the
`data_dir` and `tiny_bert` fixtures; the functions build the same data by hand.
"""

import csv
import random
from pathlib import Path

import pytest

LABELS = ["cats", "dogs", "fish"]
WORDS = {
    "cats": ["meow", "purr", "whiskers", "kitten", "litter", "tabby"],
    "dogs": ["woof", "bark", "leash", "puppy", "fetch", "bone"],
    "fish": ["tank", "fins", "gills", "aquarium", "swim", "reef"],
}
FILLER = ["the", "a", "my", "today", "really", "so", "very", "little", "big", "happy"]


def make_rows(n_per_label: int, seed: int) -> list[dict]:
    """Short synthetic texts whose label is recoverable from their words."""
    rng = random.Random(seed)
    rows = []
    for label in LABELS:
        for i in range(n_per_label):
            words = rng.sample(WORDS[label], 3) + rng.sample(FILLER, 3) + [f"n{seed}x{i}"]
            rng.shuffle(words)
            rows.append({"text": " ".join(words), "label": label})
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write rows with a text,label header."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)


def write_splits(folder: Path) -> Path:
    """train/validation/test CSV files of the tiny task in `folder` (made); returns it."""
    folder.mkdir(parents=True)
    for seed, (split, n) in enumerate([("train", 16), ("validation", 6), ("test", 6)]):
        write_csv(folder / f"{split}.csv", make_rows(n, seed))
    return folder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A folder with train/validation/test CSV files of the tiny task."""
    return write_splits(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A 2-layer, 32-wide BERT with a word-level vocabulary, saved like a Hugging Face model folder."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *sorted({w for ws in WORDS.values() for w in ws} | set(FILLER)),
    ]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return str(folder)
