"""TextClassifier: an encoder, a linear head, cross-entropy, AdamW with warm-up, and accuracy/macro-F1 per split."""

import re
from collections import Counter
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from dl_portfolio import checks
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from .encoders import BagOfNgrams, PretrainedTransformer


class TextClassifier(L.LightningModule):
    """Classifies a text into one of `labels`, with a pretrained transformer or a bag-of-n-grams encoder."""

    def __init__(
        self,
        labels: list[str],
        encoder: Literal["transformer", "bow"] = "transformer",
        backbone: str = "sentence-transformers/all-MiniLM-L6-v2",
        pooling: Literal["mean", "cls"] = "mean",
        max_length: int = 128,
        num_buckets: int = 2**18,
        embed_dim: int = 128,
        word_ngrams: int = 2,
        char_ngrams: int = 0,
        dropout: float = 0.1,
        optimizer: Literal["adamw", "sgd"] = "adamw",
        lr: float = 5e-5,
        head_lr: float | None = None,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        layer_decay: float = 1.0,
        freeze_embeddings: bool = False,
        class_weights: bool = False,
        label_smoothing: float = 0.0,
        compile: bool = False,
        normalize: str | bool = "tweeteval",
        encoder_files: dict | None = None,
    ):
        """`encoder` picks the architecture; the bag-of-n-grams arguments are ignored for a transformer and back.

        `normalize` (linked from `data.normalize`) records how the training texts were prepared (the text preparation
        scheme of dl_portfolio.textprep), so that inference prepares a text the same way.
        `encoder_files` is set only when a checkpoint is loaded offline (see `runs.load_model`).
        """
        super().__init__()
        self.save_hyperparameters(ignore=["encoder_files"])
        checks.labels(labels)  # linked from data.labels: the same name in the message
        checks.model_values(self.hparams)  # before a backbone is downloaded or a bucket table allocated
        if encoder == "transformer":
            self.encoder = PretrainedTransformer(backbone, pooling, max_length, encoder_files)
            checks.max_length_fits(max_length, self.encoder.featurizer.tokenizer, backbone)
        else:
            self.encoder = BagOfNgrams(num_buckets, embed_dim, word_ngrams, char_ngrams)
        self.featurizer = self.encoder.featurizer
        if compile:
            self.encoder.compile(dynamic=True)  # in place: checkpoint keys stay the same; dynamic: padded lengths vary
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.encoder.out_dim, len(labels)))
        if freeze_embeddings:
            for name, param in self.encoder.named_parameters():
                param.requires_grad_("embeddings" not in name)
        n = len(labels)
        metrics = MetricCollection(
            {"acc": MulticlassAccuracy(n, average="micro"), "f1_macro": MulticlassF1Score(n, average="macro")}
        )
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.test_confusion = MulticlassConfusionMatrix(n)  # read by tracking after the test, never logged directly
        self.register_buffer("class_weight", torch.ones(n), persistent=False)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Featurized batch (without labels) -> logits [batch, classes]."""
        return self.head(self.encoder(**batch))

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        labels = batch["labels"]
        logits = self({k: v for k, v in batch.items() if k != "labels"})
        loss = F.cross_entropy(logits, labels, weight=self.class_weight, label_smoothing=self.hparams.label_smoothing)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits, labels)
        # Metric objects are computed, synced across ranks and reset by Lightning at epoch end.
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, batch_size=len(labels), sync_dist=True)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage == "val")
        return loss, logits

    def training_step(self, batch, batch_idx):
        """One optimisation step."""
        return self._step(batch, "train")[0]

    def validation_step(self, batch, batch_idx):
        """Validation metrics, which select the best checkpoint."""
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        """Test metrics, computed once with the selected checkpoint."""
        _, logits = self._step(batch, "test")
        self.test_confusion.update(logits, batch["labels"])

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Store the backbone's config and tokenizer in the checkpoint: `report` then needs no hub and no folder."""
        if isinstance(self.encoder, PretrainedTransformer):
            if not hasattr(self, "_encoder_files"):
                self._encoder_files = self.encoder.files()
            checkpoint["encoder_files"] = self._encoder_files

    def on_fit_start(self) -> None:
        """Balanced class weights from the training labels, when asked (helps macro-F1 on skewed data)."""
        if self.hparams.class_weights:
            counts = Counter(label for _, label in self.trainer.datamodule.splits["train"])
            n, k = sum(counts.values()), len(self.hparams.labels)
            weights = [n / (k * counts[i]) if counts[i] else 0.0 for i in range(k)]
            self.class_weight = torch.tensor(weights, device=self.device)

    def _depth(self, name: str, num_layers: int) -> int:
        """Layer depth of a parameter for layer-wise LR decay: embeddings 0, block i -> i + 1, head on top."""
        if name.startswith("head."):
            return num_layers + 1
        found = re.search(r"\.layers?\.(\d+)\.", name)
        return int(found.group(1)) + 1 if found else 0 if "embed" in name else num_layers

    def configure_optimizers(self):
        """AdamW or SGD (no decay on biases and norms), layer-wise LR decay, linear warm-up then linear decay per step.

        SGD is for the bag of n-grams: its sparse embedding gradients are what fastText trains with.
        """
        hp = self.hparams
        checks.optimizer_fits(hp.encoder, hp.optimizer)
        num_layers = getattr(getattr(self.encoder, "model", None), "config", None)
        num_layers = getattr(num_layers, "num_hidden_layers", 0)
        groups: dict[tuple, list] = {}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            depth = self._depth(name, num_layers)
            lr = hp.lr * hp.layer_decay ** (num_layers + 1 - depth)
            if name.startswith("head.") and hp.head_lr:
                lr = hp.head_lr
            decay = 0.0 if param.ndim < 2 or "norm" in name.lower() else hp.weight_decay
            groups.setdefault((lr, decay), []).append(param)
        params = [{"params": p, "lr": lr, "weight_decay": wd} for (lr, wd), p in groups.items()]
        optimizer = {"adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[hp.optimizer](params, lr=hp.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(total * hp.warmup_ratio)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (total - step) / max(1, total - warmup))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
