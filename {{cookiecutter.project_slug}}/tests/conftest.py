"""Tiny data and a tiny randomly initialised BERT, made here: the tests never download anything."""

import csv
import json
import random
import shutil
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


PROJECT = Path(__file__).resolve().parents[1]


def run_options(root: Path, data: Path, run: str) -> list[str]:
    """The data, CPU and quiet options every tiny test run shares, into ROOT/runs/RUN."""
    return [
        "--data.labels", json.dumps(LABELS), "--data.source", "local", "--data.path", str(data),
        "--data.batch_size", "8", "--trainer.accelerator", "cpu",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        "--runs_dir", str(root / "runs"), "--run_name", run,
    ]  # fmt: skip


def train_args(root: Path, data: Path, run: str, epochs: int) -> list[str]:
    """`train` options for a tiny bag-of-n-grams run on the tiny task, into ROOT/runs/RUN."""
    return [
        *run_options(root, data, run), "--model.encoder", "bow", "--model.num_buckets", "4096",
        "--model.embed_dim", "16", "--model.optimizer", "sgd", "--model.lr", "0.5", "--model.weight_decay", "0",
        "--trainer.max_epochs", str(epochs),
    ]  # fmt: skip


def export_run_args(root: Path, data: Path, run: str, encoder: str, backbone: str) -> list[str]:
    """A run the export and demo tests export: a tiny BERT at `backbone`, or a bag of n-grams with character
    4-grams (the part a featurizer in another language gets wrong first)."""
    model = (
        ["--model.encoder", "bow", "--model.num_buckets", "4096", "--model.embed_dim", "16", "--model.char_ngrams", "4",
         "--model.optimizer", "sgd", "--model.lr", "0.5", "--model.weight_decay", "0", "--trainer.max_epochs", "3"]
        if encoder == "bow"
        else ["--model.encoder", "transformer", "--model.backbone", backbone, "--model.optimizer", "adamw",
              "--model.lr", "1e-3", "--trainer.max_epochs", "2"]
    )  # fmt: skip
    return [*run_options(root, data, run), *model]


def new_root(folder: Path) -> Path:
    """A project folder with this project's docs/, mkdocs.yml and README.md (the files report writes into)."""
    folder.mkdir(parents=True)
    shutil.copytree(PROJECT / "docs", folder / "docs")
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(PROJECT / name, folder / name)
    return folder
