"""TextDataModule: a source -> checked splits -> batches the model's featurizer turns into tensors."""

from collections import Counter
from collections.abc import Callable
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from torch.utils.data import DataLoader, DistributedSampler

from . import sources
from .errors import UserError
from .text import normalize_tweet

Featurizer = Callable[[list[str]], dict[str, torch.Tensor]]


def check_splits(splits: dict, labels: list[str], drop_leaked: bool) -> dict:
    """Validate splits before training: empty texts dropped, unknown labels refused, train/test leakage reported."""
    known = set(labels)
    out = {}
    for split, examples in splits.items():
        kept = [(text, label) for text, label in examples if text.strip()]
        if len(kept) < len(examples):
            rank_zero_warn(f"{split}: dropped {len(examples) - len(kept)} empty texts.")
        if not kept:
            raise UserError(f"the {split} split is empty: check the data source and its {split} file.")
        unknown = Counter(label for _, label in kept if label not in known)
        if unknown:
            raise UserError(
                f"{split} has labels {sorted(unknown)} that are not in data.labels {labels}: "
                "add them to data.labels or fix the data."
            )
        out[split] = kept
    unseen = sorted({label for s in ("validation", "test") for _, label in out[s]} - {lb for _, lb in out["train"]})
    if unseen:
        raise UserError(f"labels {unseen} occur in validation/test but never in train: re-split so train has them.")
    test_texts = {text for text, _ in out["test"]}
    leaked = sum(text in test_texts for text, _ in out["train"])
    if leaked and drop_leaked:
        out["train"] = [ex for ex in out["train"] if ex[0] not in test_texts]
        rank_zero_warn(f"dropped {leaked} train examples whose exact text is also in test.")
    elif leaked:
        rank_zero_warn(f"{leaked} train texts also occur in test (leakage): set data.drop_leaked=true to drop them.")
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
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        drop_leaked: bool = False,
        normalize: bool = True,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        num_workers: int = 0,
        pin_memory: bool = False,
        featurizer: Featurizer | None = None,
    ):
        """`source` picks where examples come from; `labels` fixes the class order (and refuses unknown labels)."""
        super().__init__()
        if not labels:
            raise UserError("data.labels is empty: list the class names in your data config.")
        self.save_hyperparameters(ignore=["featurizer"])
        self.labels = list(labels)
        self.featurizer = featurizer
        self.splits: dict[str, list[tuple[str, int]]] = {}

    @property
    def name(self) -> str:
        """A human name for the data set, used by the report."""
        hp = self.hparams
        return hp.dataset_name or {"sample": "bundled sample data"}.get(hp.source) or hp.hub_id or hp.path or hp.source

    def load(self) -> dict[str, list[tuple[str, str]]]:
        """Read the configured source into train/validation/test lists of (text, label)."""
        hp = self.hparams
        fractions = (hp.val_fraction, hp.test_fraction)
        if hp.source == "sample":
            raw = sources.load_sample()
        elif hp.source == "local":
            if not hp.path:
                raise UserError("data.source is 'local' but data.path is not set: point it at your data folder.")
            raw = sources.load_local(hp.path, hp.text_column, hp.label_column, fractions, hp.split_seed)
        elif hp.source == "hub":
            if not hp.hub_id:
                raise UserError("data.source is 'hub' but data.hub_id is not set: give a Hugging Face data set id.")
            mapping = hp.splits or {s: s for s in sources.SPLITS}
            raw = sources.load_hub(hp.hub_id, hp.hub_config, mapping, hp.text_column, hp.label_column)
        else:
            raw = sources.load_collected(hp.path or "data/collected", fractions, hp.split_seed)
        if hp.normalize:
            raw = {s: [(normalize_tweet(t), y) for t, y in exs] for s, exs in raw.items()}
        return check_splits(raw, self.labels, hp.drop_leaked)

    def setup(self, stage: str | None = None) -> None:
        """Load and check the data once; map labels to ids in `labels` order."""
        if self.splits:
            return
        index = {label: i for i, label in enumerate(self.labels)}
        self.splits = {s: [(t, index[y]) for t, y in exs] for s, exs in self.load().items()}
        sizes = ", ".join(f"{s} {len(exs)}" for s, exs in self.splits.items())
        rank_zero_info(f"data: {self.name} ({sizes})")

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
