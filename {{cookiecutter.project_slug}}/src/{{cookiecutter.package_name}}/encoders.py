"""Text encoders: each turns a batch of texts into one vector per text, and brings its own featurizer.

- `BagOfNgrams`: hashed word (and optional character) n-grams, averaged embeddings; fastText-style, fast on a CPU.
- `PretrainedTransformer`: any Hugging Face encoder (hub id or local folder), mean or CLS pooled.
"""

import re
import tempfile
import zlib
from pathlib import Path

import torch
from dl_portfolio.errors import UserError
from torch import nn

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashedNgrams:
    """Featurizer: text -> ids of hashed word n-grams (and character n-grams); 0 is padding.

    crc32 rather than `hash()`, which Python salts per process, so ids are stable across runs and workers.
    """

    def __init__(self, num_buckets: int, word_ngrams: int, char_ngrams: int, max_tokens: int = 512):
        self.num_buckets, self.word_ngrams, self.char_ngrams, self.max_tokens = (
            num_buckets,
            word_ngrams,
            char_ngrams,
            max_tokens,
        )

    def grams(self, text: str) -> list[str]:
        """The n-gram strings of one text."""
        words = _TOKEN.findall(text.lower())
        out = [" ".join(words[i : i + n]) for n in range(1, self.word_ngrams + 1) for i in range(len(words) - n + 1)]
        if self.char_ngrams:
            for word in words:
                padded = f"<{word}>"
                out += [
                    f"#{padded[i : i + n]}" for n in range(3, self.char_ngrams + 1) for i in range(len(padded) - n + 1)
                ]
        return out[: self.max_tokens]

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Batch of texts -> `{"ids": LongTensor[batch, longest]}`."""
        rows = [[zlib.crc32(g.encode()) % (self.num_buckets - 1) + 1 for g in self.grams(t)] or [0] for t in texts]
        ids = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
        return {"ids": ids}


class BagOfNgrams(nn.Module):
    """Mean of hashed n-gram embeddings: the strong, cheap baseline every text classifier should beat."""

    def __init__(self, num_buckets: int = 2**18, embed_dim: int = 128, word_ngrams: int = 2, char_ngrams: int = 0):
        super().__init__()
        self.featurizer = HashedNgrams(num_buckets, word_ngrams, char_ngrams)
        # Sparse gradients: a step touches only the rows of the n-grams in the batch (260x faster than dense on CPU
        # with 2**20 buckets); the model preset trains it with SGD, which takes sparse and dense gradients alike.
        self.embed = nn.EmbeddingBag(num_buckets, embed_dim, mode="mean", padding_idx=0, sparse=True)
        nn.init.uniform_(self.embed.weight, -1.0 / embed_dim, 1.0 / embed_dim)  # fastText's init; N(0, 1) trains badly
        with torch.no_grad():
            self.embed.weight[0].zero_()
        self.out_dim = embed_dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [batch, tokens] -> [batch, embed_dim]."""
        return self.embed(ids)


class TokenizerFeaturizer:
    """Featurizer: a Hugging Face tokenizer, padded to the longest text in the batch (dynamic padding)."""

    def __init__(self, tokenizer, max_length: int):
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Batch of texts -> `input_ids` and `attention_mask`."""
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def too_long(self, texts: list[str], chunk: int = 1024) -> int:
        """How many of `texts` have more than `max_length` tokens, so that the model reads only their start."""
        count = 0
        for start in range(0, len(texts), chunk):
            lengths = self.tokenizer(texts[start : start + chunk], return_length=True, verbose=False)["length"]
            count += sum(n > self.max_length for n in lengths)
        return count


def _load(what: str, loader, backbone: str):
    try:
        return loader(backbone)
    except (OSError, ValueError) as err:  # transformers raises these when a model is missing or unreachable
        raise UserError(
            f"could not load the {what} {backbone!r} ({type(err).__name__}): check the id and your network, or set "
            "model.backbone to a local folder with the model (save_pretrained), or use model=bow."
        ) from None


class PretrainedTransformer(nn.Module):
    """A pretrained transformer encoder with mean (over real tokens) or CLS pooling.

    `files` is what a checkpoint needs besides its weights (backbone config and tokenizer): given instead of a
    backbone, the encoder is built from them with no download and no pretrained weights, which the checkpoint's
    state dict then fills in.
    """

    def __init__(self, backbone: str, pooling: str = "mean", max_length: int = 128, files: dict | None = None):
        super().__init__()
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        if files is None:
            tokenizer = _load("tokenizer", AutoTokenizer.from_pretrained, backbone)
            self.model = _load("model", AutoModel.from_pretrained, backbone).train()  # from_pretrained: eval mode
        else:
            with tempfile.TemporaryDirectory() as folder:
                for name, data in files.items():
                    Path(folder, name).write_bytes(data)
                tokenizer = AutoTokenizer.from_pretrained(folder)
                self.model = AutoModel.from_config(AutoConfig.from_pretrained(folder))
        self.featurizer = TokenizerFeaturizer(tokenizer, max_length)
        self.pooling = pooling
        self.out_dim = self.model.config.hidden_size

    def files(self) -> dict[str, bytes]:
        """The backbone's config and tokenizer files (no weights), for a self-contained checkpoint."""
        with tempfile.TemporaryDirectory() as folder:
            self.featurizer.tokenizer.save_pretrained(folder)
            self.model.config.save_pretrained(folder)
            return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token ids -> one pooled vector per text."""
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
