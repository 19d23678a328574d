"""An export folder (`exports/<run>/`, written by `export`) loaded and run without torch, transformers or the project.

    model = ExportedModel.load("exports/<run>")
    model.predict_proba(["Great match tonight!"])   # [[p(label 0), p(label 1), ...]], in `model.labels` order

Only numpy, onnxruntime, tokenizers and the standard library: what `serve` installs. Texts are prepared exactly as
in training (the scheme `config.json` records, by dl_portfolio.textprep, which imports only `re`), then featurized as
the project's featurizer does: the saved `tokenizer.json` with the run's truncation and dynamic padding
(transformer), or hashed n-grams reimplemented here (bag of n-grams; `featurizer_check.json` holds the ids they
must reproduce).
"""

import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import textprep
from .textprep import prepare

FP32, INT8 = "onnx/model.onnx", "onnx/model_quantized.onnx"
VARIANTS = {"int8": INT8, "fp32": FP32}
FORMATS = {1}  # the `dl_portfolio.format` versions this loader reads


class ExportError(ValueError):
    """An export folder that is missing, incomplete or of a format this loader does not know."""


class HashedNgrams:
    """The bag of n-grams featurizer: word n-grams and `#<char n-grams>` hashed with crc32 into 1..num_buckets-1.

    The same algorithm as the project's `encoders.HashedNgrams` (Python's `re` gives the same `\\w` classes, zlib
    the same crc32), returning numpy instead of torch; 0 is padding, and an empty text is one padding id.
    """

    def __init__(self, block: dict):
        self.num_buckets = int(block["num_buckets"])
        self.word_ngrams = int(block["word_ngrams"])
        self.char_ngrams = int(block["char_ngrams"])
        self.char_min = int(block.get("char_ngram_min", 3))
        self.max_tokens = int(block.get("max_tokens", 512))
        self.token = re.compile(block.get("token_pattern", r"\w+|[^\w\s]"))

    def grams(self, text: str) -> list[str]:
        """The n-gram strings of one text, in the project's order (word n-grams by n, then character n-grams)."""
        words = self.token.findall(text.lower())
        out = [" ".join(words[i : i + n]) for n in range(1, self.word_ngrams + 1) for i in range(len(words) - n + 1)]
        if self.char_ngrams:
            for word in words:
                padded = f"<{word}>"
                top = self.char_ngrams + 1
                out += [f"#{padded[i : i + n]}" for n in range(self.char_min, top) for i in range(len(padded) - n + 1)]
        return out[: self.max_tokens]

    def ids(self, text: str) -> list[int]:
        """Bucket ids of one text's n-grams, `[0]` when it has none."""
        buckets = self.num_buckets - 1
        return [zlib.crc32(g.encode()) % buckets + 1 for g in self.grams(text)] or [0]

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Batch of texts -> `{"ids": int64[batch, longest]}`, zero-padded on the right."""
        rows = [self.ids(t) for t in texts]
        ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
        return {"ids": ids}


class TokenizerFeaturizer:
    """The transformer featurizer: `tokenizer.json` with truncation at the run's max_length and padding to the
    longest text of the batch, as `tokenizer(texts, padding=True, truncation=True, max_length=...)` in training."""

    def __init__(self, folder: Path, block: dict):
        from tokenizers import Tokenizer

        settings = read_json(folder / "tokenizer_config.json") or {}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.max_length = int(block["max_length"])
        pad_id = int(block.get("pad_token_id", 0))
        pad_token = self.tokenizer.id_to_token(pad_id) or str(settings.get("pad_token", "[PAD]"))
        # Set both explicitly: tokenizer.json keeps whatever padding/truncation was last used when it was saved.
        self.tokenizer.enable_truncation(
            self.max_length, strategy="longest_first", direction=settings.get("truncation_side", "right")
        )
        self.tokenizer.enable_padding(
            direction=settings.get("padding_side", "right"),
            pad_id=pad_id,
            pad_type_id=int(settings.get("pad_token_type_id", 0)),
            pad_token=pad_token,
        )

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Batch of texts -> `input_ids` and `attention_mask`, int64[batch, longest]."""
        encodings = self.tokenizer.encode_batch(texts)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }


def read_json(path: Path) -> dict | None:
    """A JSON file's content, None when it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (as the export's parity check computes it)."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def file_digest(path: Path) -> str:
    """sha256 of a file, read in blocks (an int8 MiniLM is 25 MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def session_options(threads: int | None):
    """onnxruntime options: `threads` intra-op threads (None: onnxruntime's default, one per core), no spinning.

    Spinning threads busy-wait for the next op; with requests run from several Python threads on few cores they
    burn the cores the other requests need.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers etc. are not the caller's to act on
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def read_block(folder: Path) -> dict:
    """The `dl_portfolio` block of config.json, checked for what this loader needs."""
    config = read_json(folder / "config.json")
    if config is None:
        raise ExportError(f"{folder}/config.json is missing: not an export folder (run `make export`).")
    block = config.get("dl_portfolio")
    if not isinstance(block, dict) or block.get("format") not in FORMATS:
        raise ExportError(f"{folder}/config.json has no `dl_portfolio` block of format {sorted(FORMATS)}.")
    return block


def featurizer_for(folder: Path, block: dict):
    """The featurizer the export's encoder needs."""
    if block["encoder"] == "transformer":
        if not (folder / "tokenizer.json").is_file():
            raise ExportError(f"{folder}/tokenizer.json is missing: export again.")
        return TokenizerFeaturizer(folder, block)
    if block["encoder"] == "bow":
        return HashedNgrams(block)
    raise ExportError(f"unknown encoder {block['encoder']!r} in {folder}/config.json.")


@dataclass
class ExportedModel:
    """One export folder's model: labels, featurizer and an onnxruntime session (int8 by default)."""

    folder: Path
    encoder: str  # "transformer" or "bow"
    labels: list[str]
    normalize: str  # the text preparation scheme the run recorded (dl_portfolio.textprep)
    featurizer: object
    session: object
    variant: str
    model_id: str
    info: dict  # export.json (parity, sizes, examples), {} when absent

    @classmethod
    def load(cls, folder: str | Path, variant: str = "int8", threads: int | None = None) -> "ExportedModel":
        """Load `folder` (an `exports/<run>/`); `variant` is "int8" (onnx/model_quantized.onnx) or "fp32"."""
        import onnxruntime as ort

        folder = Path(folder)
        if variant not in VARIANTS:
            raise ExportError(f"variant must be one of {sorted(VARIANTS)}, not {variant!r}.")
        block = read_block(folder)
        graph = folder / VARIANTS[variant]
        if not graph.is_file():
            raise ExportError(f"{graph} is missing: export again.")
        session = ort.InferenceSession(str(graph), session_options(threads), providers=["CPUExecutionProvider"])
        return cls(
            folder=folder,
            encoder=block["encoder"],
            labels=list(block["labels"]),
            normalize=textprep.scheme(block.get("normalize")),
            featurizer=featurizer_for(folder, block),
            session=session,
            variant=variant,
            model_id=f"{folder.resolve().name}@{file_digest(graph)[:12]}",  # run name + content: changes with the model
            info=read_json(folder / "export.json") or {},
        )

    def features(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The graph's feed for `texts`, prepared as in training."""
        return self.featurizer(prepare(texts, self.normalize))

    def logits(self, texts: list[str]) -> np.ndarray:
        """Logits of `texts` as float64 [batch, labels], one onnxruntime call."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.session.run(["logits"], self.features(texts))[0].astype(np.float64)

    def predict_proba(self, texts: list[str], batch_size: int = 64, by_length: bool = False) -> list[list[float]]:
        """Class probabilities of each text, in `labels` order, in onnxruntime calls of `batch_size` texts (each
        padded to its longest, as the export's check does).

        `by_length` batches texts of similar length together (the answers keep the order of `texts`): less padding,
        and small batches of a transformer run faster per text than one big padded one (bench/results/serve.md).
        """
        order = self.by_length(texts) if by_length else list(range(len(texts)))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(texts), batch_size):
            chunk = order[start : start + batch_size]
            for i, probs in zip(chunk, softmax(self.logits([texts[i] for i in chunk])).tolist(), strict=True):
                out[i] = probs
        return out

    def by_length(self, texts: list[str]) -> list[int]:
        """Indices of `texts` from the fewest to the most tokens (or n-grams) the model reads."""
        feed = self.features(texts)
        real = feed["attention_mask"] if "attention_mask" in feed else feed["ids"] != 0
        return sorted(range(len(texts)), key=real.sum(axis=1).__getitem__)
