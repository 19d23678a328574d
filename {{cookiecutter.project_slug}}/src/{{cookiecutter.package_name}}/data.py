"""TextDataModule: a source -> checked splits -> batches the model's featurizer turns into tensors."""

from collections import Counter
from collections.abc import Callable
from typing import Literal

import lightning as L
import torch
from dl_portfolio import checks
from dl_portfolio.errors import UserError
from dl_portfolio.textprep import prepare
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, DistributedSampler

from . import sources

Featurizer = Callable[[list[str]], dict[str, torch.Tensor]]


# Below RELIABLE_TEST examples a test score carries a warning everywhere it shows; below one per class it is refused.
RELIABLE_TEST = 100
PAIRS = (("train", "validation"), ("train", "test"), ("validation", "test"))


def as_named(examples: list[tuple[str, str]], labels: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """Labels given as numbers (0, 1, "2", "2.0") read as positions in `labels`, when no label name is a number.

    Spreadsheets and `datasets` exports often write the class index in one file and the name in another.
    """
    if any(_index(label) is not None for label in labels):
        return examples, False  # the names themselves are numbers: a number is a name
    known, out, mapped = set(labels), [], False
    for text, label in examples:
        i = None if label in known else _index(label)
        if i is not None and 0 <= i < len(labels):
            label, mapped = labels[i], True
        out.append((text, label))
    return out, mapped


def _index(label: str) -> int | None:
    try:
        value = float(label)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def check_splits(
    splits: dict, labels: list[str], drop_leaked: bool, warnings: list[str] | None = None, max_chars: int = 5000
) -> dict:
    """Validate splits before training; refuse what cannot give a result, and append to `warnings` what weakens one.

    Empty texts are dropped and over-long ones cut (each counted once); unknown labels, a single training class and
    a test split with fewer examples than classes are refused; texts shared by two splits, a small or single-class
    test split and classes never seen in training are warnings (they travel into the run's manifest and the report).
    """
    warnings = [] if warnings is None else warnings
    known = set(labels)
    out = {}
    for split, examples in splits.items():
        kept = [(text, label) for text, label in examples if text.strip()]
        if len(kept) < len(examples):
            rank_zero_info(f"data: {split}: dropped {len(examples) - len(kept)} empty texts")
        if not kept:
            raise UserError(f"the {split} split is empty: check the data source and its {split} file.")
        long = sum(len(text) > max_chars for text, _ in kept)
        if long:
            kept = [(text[:max_chars], label) for text, label in kept]
            rank_zero_info(
                f"data: {split}: cut {long} texts longer than {max_chars:,} characters to their first {max_chars:,} "
                "(data.max_chars; the model reads only its first model.max_length tokens anyway)"
            )
        kept, mapped = as_named(kept, labels)
        if mapped:
            rank_zero_info(f"data: {split}: labels given as numbers were read as positions in data.labels {labels}")
        unknown = Counter(label for _, label in kept if label not in known)
        if unknown:
            raise UserError(
                f"{split} has labels {sorted(unknown)} that are not in data.labels {labels}: "
                "add them to data.labels or fix the data."
            )
        out[split] = kept
    trained = {label for _, label in out["train"]}
    if len(trained) < 2:
        raise UserError(
            f"train has a single class {sorted(trained)}: a classifier needs examples of at least two of "
            f"data.labels {labels}; add data for the others."
        )
    unseen = sorted({label for s in ("validation", "test") if s in out for _, label in out[s]} - trained)
    if unseen:
        raise UserError(f"labels {unseen} occur in validation/test but never in train: re-split so train has them.")
    # Without a test split (a sweep trial, data.read_test=false) only train/validation can share texts.
    for first, second in [pair for pair in PAIRS if pair[1] in out]:
        later = {text for text, _ in out[second]}
        shared = sum(text in later for text, _ in out[first])
        if shared and drop_leaked:
            out[first] = [ex for ex in out[first] if ex[0] not in later]
            rank_zero_info(f"data: dropped {shared} {first} examples whose exact text is also in {second}")
        elif shared:
            warnings.append(
                f"{shared} {first} texts also occur in {second}: the {second} score is inflated by texts the model "
                "has seen; set data.drop_leaked=true to drop them."
            )
    for split in ("train", "validation"):
        if not out[split]:
            raise UserError(f"the {split} split is empty once texts shared with later splits are dropped: re-split.")
    n_test = len(out["test"]) if "test" in out else RELIABLE_TEST  # no test split: nothing to warn about
    if n_test < len(labels):
        raise UserError(
            f"the test split has {n_test} examples for {len(labels)} classes: too few to say anything (one example "
            f"moves accuracy by {100 / n_test:.0f} points); give it at least one per class, better {RELIABLE_TEST} "
            "or more."
        )
    if n_test < RELIABLE_TEST:
        warnings.append(
            f"the test split has only {n_test} examples: one example moves accuracy by {100 / n_test:.1f} points, "
            "so the scores are rough."
        )
    if "test" in out and len({label for _, label in out["test"]}) == 1:
        warnings.append("the test split holds a single class: its accuracy says nothing about telling classes apart.")
    never = [label for label in labels if label not in trained]
    if never:
        warnings.append(f"data.labels {never} never occur in train: the model cannot learn to predict them.")
    for warning in warnings:
        rank_zero_info(f"warning: {warning}")
    return out


class EvalSampler(DistributedSampler):
    """Each rank takes every world_size-th example, none repeated: DDP metrics equal a single-process evaluation.

    Lightning's default DistributedSampler pads the last batch with repeated examples, which shifts eval metrics.
    """

    def __init__(self, dataset):
        super().__init__(dataset, shuffle=False)
        self.indices = list(range(self.rank, len(dataset), self.num_replicas))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class TextDataModule(L.LightningDataModule):
    """Loads one source, checks it, and serves train/validation/test batches of featurized text and label ids."""

    def __init__(
        self,
        labels: list[str],
        source: Literal["sample", "local", "hub", "collected"] = "sample",
        path: str | None = None,
        hub_id: str | None = None,
        hub_config: str | None = None,
        splits: dict[str, str] | None = None,
        text_column: str = "text",
        label_column: str = "label",
        dataset_name: str | None = None,
        reference: str | None = None,
        class_noun: str | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        drop_leaked: bool = False,
        normalize: Literal["tweeteval", "tweettopic", "none"] | bool = "tweeteval",
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        max_chars: int = 5000,
        encoding: str = "utf-8",
        read_test: bool = True,
        featurizer: Featurizer | None = None,
    ):
        """`source` picks where examples come from; `labels` fixes the class order (and refuses unknown labels);
        `class_noun` is what the pages call one class ("topic", "emotion"; default: what the `reference` data set
        calls them, else "class").

        Every value is checked here, before any data is read; `warnings` lists what weakens the result (filled by
        `setup`, saved in the run's manifest and shown with the report's numbers).
        """
        super().__init__()
        self.save_hyperparameters(ignore=["featurizer"])
        self.labels = checks.labels(labels)
        checks.data_values(self.hparams)
        self.featurizer = featurizer
        self.splits: dict[str, list[tuple[str, int]]] = {}
        self.warnings: list[str] = []

    @property
    def name(self) -> str:
        """A human name for the data set, used by the report."""
        hp = self.hparams
        return hp.dataset_name or {"sample": "bundled sample data"}.get(hp.source) or hp.hub_id or hp.path or hp.source

    def load(self) -> dict[str, list[tuple[str, str]]]:
        """Read the configured source into train/validation/test lists of (text, label)."""
        hp = self.hparams
        fractions = (hp.val_fraction, hp.test_fraction)
        # read_test=false (a sweep's trials): the test file is never opened; a split of one file drops its test part.
        wanted = sources.SPLITS if hp.read_test else ("train", "validation")
        if hp.source == "sample":
            raw = sources.load_sample(wanted)
        elif hp.source == "local":
            if not hp.path:
                raise UserError("data.source is 'local' but data.path is not set: point it at your data folder.")
            raw = sources.load_local(
                hp.path, hp.text_column, hp.label_column, fractions, hp.split_seed, wanted, encoding=hp.encoding
            )
        elif hp.source == "hub":
            if not hp.hub_id:
                raise UserError("data.source is 'hub' but data.hub_id is not set: give a Hugging Face data set id.")
            mapping = {k: v for k, v in (hp.splits or {s: s for s in sources.SPLITS}).items() if k in wanted}
            raw = sources.load_hub(hp.hub_id, hp.hub_config, mapping, hp.text_column, hp.label_column)
        else:
            raw = sources.load_collected(hp.path or "data/collected", fractions, hp.split_seed)
        raw = {split: examples for split, examples in raw.items() if split in wanted}
        for split, examples in raw.items():
            texts = prepare([text for text, _ in examples], hp.normalize)
            raw[split] = [(text, label) for text, (_, label) in zip(texts, examples, strict=True)]
        self.warnings = []
        return check_splits(raw, self.labels, hp.drop_leaked, self.warnings, hp.max_chars)

    def setup(self, stage: str | None = None) -> None:
        """Load and check the data once; map labels to ids in `labels` order."""
        if self.splits:
            return
        index = {label: i for i, label in enumerate(self.labels)}
        self.splits = {s: [(t, index[y]) for t, y in exs] for s, exs in self.load().items()}
        sizes = ", ".join(f"{s} {len(exs)}" for s, exs in self.splits.items())
        rank_zero_info(f"data: {self.name} ({sizes})")
        self.say_cut()

    def say_cut(self) -> None:
        """One line per split with texts longer than the tokenizer's max_length: the model reads only their start."""
        too_long = getattr(self.featurizer, "too_long", None)  # the bag of n-grams reads every word: never cut
        if too_long is None:
            return
        for split, examples in self.splits.items():
            if n := too_long([text for text, _ in examples]):
                m = self.featurizer.max_length
                rank_zero_info(
                    f"data: {split}: {n:,} of {len(examples):,} texts are longer than model.max_length {m} tokens: "
                    f"the model reads their first {m} (raise model.max_length to read more)"
                )

    def collate(self, batch: list[tuple[str, int]]) -> dict[str, torch.Tensor]:
        """Featurize a list of (text, label id) into model inputs plus `labels`."""
        if self.featurizer is None:
            raise RuntimeError("TextDataModule.featurizer is not set: pass featurizer=model.featurizer.")
        texts, labels = zip(*batch, strict=True)
        return {**self.featurizer(list(texts)), "labels": torch.tensor(labels)}

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        hp = self.hparams
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        # Training batches get Lightning's DistributedSampler; evaluation needs the unrepeated one.
        sampler = EvalSampler(self.splits[split]) if distributed and split != "train" else None
        return DataLoader(
            self.splits[split],
            batch_size=hp.batch_size if split == "train" else hp.eval_batch_size,
            shuffle=shuffle,
            sampler=sampler,
            collate_fn=self.collate,
            num_workers=hp.num_workers,
            pin_memory=hp.pin_memory,
            persistent_workers=hp.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Validation batches, used for model selection."""
        return self._loader("validation", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Test batches: only ever evaluated with the selected checkpoint."""
        return self._loader("test", shuffle=False)
