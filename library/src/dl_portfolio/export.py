"""`export`: a run's best checkpoint -> `exports/<run>/`, a folder that loads without this package, torch or a download.

exports/<run>/config.json               the backbone's config + `id2label`/`label2id` + a `dl_portfolio` block
exports/<run>/tokenizer.json, ...       the tokenizer files (transformer; truncation at the run's max_length)
exports/<run>/onnx/model.onnx           fp32 graph: `input_ids`, `attention_mask` (bow: `ids`) -> `logits`
exports/<run>/onnx/model_quantized.onnx int8 copy (8-bit weight blocks + int8 word vectors, onnxruntime)
exports/<run>/README.md                 the model card, from reports/<run>/metrics.json (model_card.py)
exports/<run>/export.json               parity with the checkpoint on the test texts, file sizes, CPU latency
exports/<run>/featurizer_check.json     (bag of n-grams) texts and the ids Python computes, for other featurizers

The layout is the one transformers.js loads from a folder or a Hub repo. The whole folder is written beside
`exports/<run>` and renamed at the end: a failed export leaves the previous one as it was.
"""

import contextlib
import io
import logging
import math
import os
import statistics
import time
import warnings
from pathlib import Path

from . import inference, runs, textprep
from .errors import ArgumentParser, UserError
from .exported import ExportedModel
from .files import Staged, write_json, write_text
from .formats import backbone_id, fmt_pct, fmt_points, short_backbone
from .layout import Layout
from .project import prog

FP32, INT8 = "onnx/model.onnx", "onnx/model_quantized.onnx"
PARITY_ATOL = 1e-4  # fp32 ONNX vs PyTorch logits; a bigger gap means the graph is not the model
INT8_AGREEMENT, INT8_ACCURACY_POINTS = 0.99, 0.005  # below / beyond these, export warns that int8 costs accuracy
LATENCY_TEXTS = 200  # texts timed one at a time (batch 1, as a demo or an API call sees them)
# Traced to build the graph: two texts of different lengths, so no axis is specialised to a size of 1.
TRACE_TEXTS = ["a short text to trace", "a second, longer text to trace the graph with a few more words"]
# Texts that stress a featurizer written in another language: Unicode words, accents, emoji, digits, URLs; Python's
# `\w` is Unicode letters, numbers and `_` (not combining marks), and `str.lower` can lengthen a word ('İ' -> 'i̇').
CHECK_TEXTS = [
    "Great match tonight!! @someone 3-1 #football https://t.co/abc",
    "Café déjà vu: naïve façade, Straße & ÆØÅ",
    "emoji 😀👍🏽 and 中文 字符 and العربية",
    "   spaces\tand\nnewlines   ",
    "don't stop-believing... it's 2024_rocks",
    "cafe\u0301 İSTANBUL ﬁne ½ ² x\u200by",  # a combining accent, a lower-casing that grows, ligature, numerals, ZWSP
    "",
    textprep.EXAMPLE,  # TweetTopic's markup: what the run's text preparation makes of it, on record for other languages
]


def transformer_graph(model):
    """Encoder + pooling + head as one module: (input_ids, attention_mask) -> logits (dropout off: eval mode)."""
    from torch import nn

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.head = model.encoder, model.head

        def forward(self, input_ids, attention_mask):
            return self.head(self.encoder(input_ids, attention_mask))

    return Graph().eval()


def bow_graph(model):
    """The bag of n-grams as plain ops: masked mean of embedding rows + head, ids -> logits.

    `nn.EmbeddingBag(mode="mean", padding_idx=0)` is written as gather, mask and divide: ONNX has no EmbeddingBag,
    and padding (id 0) counts neither in the sum nor in the number of n-grams, exactly as in training.
    """
    import torch
    from torch import nn

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight, self.head = model.encoder.embed.weight, model.head

        def forward(self, ids):
            mask = (ids != 0).unsqueeze(-1).to(self.weight.dtype)
            summed = (torch.nn.functional.embedding(ids, self.weight) * mask).sum(1)
            return self.head(summed / mask.sum(1).clamp(min=1.0))

    return Graph().eval()


def export_onnx(model, example: dict, path: Path) -> None:
    """Export `model` (bow or transformer) to one self-contained ONNX file with dynamic batch and sequence axes."""
    import torch
    from torch.export import Dim

    transformer = model.hparams.encoder == "transformer"
    graph = transformer_graph(model) if transformer else bow_graph(model)
    names = ["input_ids", "attention_mask"] if transformer else ["ids"]
    batch, seq = Dim("batch"), Dim("sequence")
    path.parent.mkdir(parents=True, exist_ok=True)
    # The exporter logs a warning per optional library it does not find (torchvision ops) and prints its progress
    # steps: nothing a user can act on. Its errors still raise.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Both inputs share the two axes on purpose; the graph's axes are named `batch` and `sequence` all the same.
        warnings.filterwarnings("ignore", message=r"# The axis name: \w+ will not be used")
        torch.onnx.export(
            graph,
            tuple(example[n] for n in names),
            str(path),
            input_names=names,
            output_names=["logits"],
            dynamic_shapes={n: {0: batch, 1: seq} for n in names},
            dynamo=True,
            external_data=False,  # one file: what transformers.js and onnxruntime-web load
            verbose=False,
        )


def quantize(src: Path, dst: Path) -> None:
    """The int8 copy (onnxruntime's quantisation), ~3.6x smaller: every matrix multiply with 8-bit weights in blocks of
    32 (MatMulNBits, int8 arithmetic), and the largest embedding table (the word or n-gram vectors) in int8.

    Measured on a MiniLM fine-tuned on TweetEval emotion (1,421 test tweets; bench/results/export.md): the same label
    as PyTorch on 99.4%; onnxruntime's dynamic quantisation of the whole graph (per channel, 7-bit: transformers.js'
    q8) gave 97.8%, and also quantising the small position/type tables 98.9%.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # both log hints on every call
    try:
        config = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, bits=8, accuracy_level=4)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(src)), algo_config=config)
        quantizer.process()
        blocks = dst.with_name(f".{dst.name}.matmul")
        quantizer.model.save_model_to_file(str(blocks), use_external_data_format=False)
        graph = quantizer.model.model.graph
        tables = {t.name: t for t in graph.initializer}
        gathers = [n for n in graph.node if n.op_type == "Gather" and n.input[0] in tables]
        if not gathers:
            os.replace(blocks, dst)
            return
        largest = max(gathers, key=lambda n: math.prod(tables[n.input[0]].dims))
        only = {"op_types_to_quantize": ["Gather"], "nodes_to_quantize": [largest.name]}
        quantize_dynamic(str(blocks), str(dst), weight_type=QuantType.QInt8, **only)
        blocks.unlink()
    finally:
        root.setLevel(level)


def export_config(model, labels: list[str], data_cfg: dict) -> dict:
    """config.json: the backbone's config (transformers.js reads the architecture from it), labels, how to featurize."""
    hp = model.hparams
    block = {
        "format": 1,
        "encoder": hp.encoder,
        "labels": labels,
        "normalize": textprep.scheme(hp.get("normalize", data_cfg.get("normalize"))),
        "inputs": ["input_ids", "attention_mask"] if hp.encoder == "transformer" else ["ids"],
        "output": "logits",
    }
    if hp.encoder == "transformer":
        config = {k: v for k, v in model.encoder.model.config.to_dict().items() if not k.startswith("_")}
        config.pop("architectures", None)  # the backbone's class; there are no PyTorch weights here to load with it
        block.update(
            backbone=hub_id_or_name(hp.backbone),
            pooling=hp.pooling,
            max_length=hp.max_length,
            pad_token_id=pad_id(model.featurizer),
        )
    else:
        f = model.featurizer
        config = {"model_type": "dl-portfolio-bag-of-ngrams"}
        block.update(
            num_buckets=f.num_buckets,
            word_ngrams=f.word_ngrams,
            char_ngrams=f.char_ngrams,
            char_ngram_min=3,
            max_tokens=f.max_tokens,
            token_pattern=r"\w+|[^\w\s]",
            hash="crc32 of the UTF-8 n-gram, mod (num_buckets - 1), + 1; 0 is padding",
            embed_dim=hp.embed_dim,
        )
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    config["dl_portfolio"] = block
    return config


def hub_id_or_name(backbone: str) -> str:
    """A Hub id as it is; a local folder by the Hub id of the model it holds when that can be told (the card's
    `base_model`), else by its model name only (no local paths in a published file)."""
    if Path(backbone).is_absolute() or Path(backbone).exists():
        return backbone_id(backbone) or short_backbone(backbone)
    return backbone


def pad_id(featurizer) -> int:
    """The tokenizer's padding id (RoBERTa's is 1: its position ids depend on it)."""
    pid = featurizer.tokenizer.pad_token_id
    return int(pid) if pid is not None else 0


def save_tokenizer(featurizer, max_length: int, folder: Path) -> None:
    """tokenizer.json & co, truncating at the run's max_length by default (transformers.js reads model_max_length)."""
    tokenizer = featurizer.tokenizer
    tokenizer.model_max_length = max_length
    tokenizer.save_pretrained(folder)


def onnx_logits(exported, texts: list[str], batch_size: int = 64):
    """Logits of an exported graph on `texts` (float64 numpy), batched like the PyTorch pass, featurized and run as
    `serve` runs them (exported.ExportedModel: no torch)."""
    import numpy as np

    return np.concatenate([exported.logits(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)])


def latency_ms(exported, texts: list[str]) -> dict:
    """p50/p95 milliseconds per tweet, one text per call, featurizing included (a few warm-up calls first)."""
    for text in texts[:5]:
        exported.logits([text])
    times = []
    for text in texts:
        start = time.perf_counter()
        exported.logits([text])
        times.append(1000 * (time.perf_counter() - start))
    cuts = statistics.quantiles(times, n=20, method="inclusive") if len(times) > 1 else times * 19
    return {"p50": round(statistics.median(times), 3), "p95": round(cuts[18], 3), "texts": len(times)}


def softmax(logits):
    """Row-wise softmax of a numpy array."""
    import numpy as np

    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def parity(model, exported: dict, texts: list[str], gold: list[int]) -> tuple[dict, dict]:
    """Compare both ONNX models with the checkpoint on `texts`; returns (parity block, fp32 probabilities)."""
    import numpy as np

    ref = inference.logits(model, texts, batch_size=64).double().numpy()
    fp32, int8 = (onnx_logits(exported[k], texts) for k in ("fp32", "int8"))
    gold_arr = np.array(gold)
    acc = {k: float((x.argmax(1) == gold_arr).mean()) for k, x in (("pytorch", ref), ("fp32", fp32), ("int8", int8))}
    block = {
        "split": "test",
        "texts": len(texts),
        "fp32_max_abs_diff": float(np.abs(fp32 - ref).max()),
        "fp32_tolerance": PARITY_ATOL,
        "fp32_label_agreement": float((fp32.argmax(1) == ref.argmax(1)).mean()),
        "int8_label_agreement": float((int8.argmax(1) == ref.argmax(1)).mean()),
        "int8_max_abs_diff": float(np.abs(int8 - ref).max()),
        "accuracy": acc,
        "int8_accuracy_delta": acc["int8"] - acc["pytorch"],
    }
    return block, softmax(fp32)


def examples(texts: list[str], gold: list[int], probs, labels: list[str]) -> list[dict]:
    """Per class, the test text the model gets right with the highest confidence: the card's widget examples."""
    best: dict[int, tuple[float, int]] = {}
    for i, (g, p) in enumerate(zip(gold, probs, strict=True)):
        if int(p.argmax()) == g and texts[i].strip() and p[g] > best.get(g, (-1.0, 0))[0]:
            best[g] = (float(p[g]), i)
    return [
        {"text": texts[i], "label": labels[g], "probs": dict(zip(labels, map(float, probs[i]), strict=True))}
        for g, (_, i) in sorted(best.items())
    ]


def featurizer_check(model, texts: list[str], normalize: bool) -> dict:
    """Texts with the ids the Python featurizer gives them: the reference any other featurizer must reproduce."""
    f = model.featurizer
    rows = []
    for text in CHECK_TEXTS + texts:
        prepared = textprep.prepare([text], normalize)[0]
        ids = f([prepared])["ids"][0].tolist()
        rows.append({"text": text, "normalized": prepared, "grams": f.grams(prepared), "ids": ids})
    return {"normalize": normalize, "texts": rows}


def file_sizes(folder: Path) -> dict:
    """Bytes of every file of the export, by path relative to it."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}


def export(root: Path, runs_dir: Path, run: str | None = None, latency_texts: int = LATENCY_TEXTS) -> dict:
    """Export the run's best checkpoint into `root/exports/<run>/`; returns export.json's content."""
    import onnxruntime as ort
    import torch

    from . import model_card

    opened = runs.Run.open(runs_dir, run)
    run_dir = opened.folder
    layout = Layout(root, runs_dir)
    metrics_path = layout.report(run_dir.name) / "metrics.json"
    metrics = runs.read_json(metrics_path)
    if metrics is None:
        raise UserError(f"{metrics_path} is missing: run `make report RUN={run_dir.name}` first (the card needs it).")
    config, model = opened.config, opened.model.cpu()
    dm = opened.data
    labels = list(dm.labels)
    texts = [t for t, _ in dm.splits["test"]]  # already normalised by the data module when the run normalises
    gold = [y for _, y in dm.splits["test"]]
    if not texts:
        raise UserError(f"run {run_dir.name} has no test texts: the export is checked on them.")
    print(f"export: {run_dir.name}: ONNX export, int8 quantisation, parity on {len(texts)} test texts")

    with Staged() as stage:  # the export appears whole, replacing an older one, or not at all
        tmp = stage.folder(layout.export(run_dir.name))
        hp = model.hparams
        export_onnx(model, model.featurizer(TRACE_TEXTS), tmp / FP32)
        quantize(tmp / FP32, tmp / INT8)
        # What the export's own loader needs first: the checks run it as `serve` does (exported.py, no torch).
        cfg = export_config(model, labels, config.get("data", {}))
        write_json(tmp / "config.json", cfg)
        if hp.encoder == "transformer":
            save_tokenizer(model.featurizer, hp.max_length, tmp)
        loaded = {k: ExportedModel.load(tmp, k) for k in ("fp32", "int8")}
        check, probs = parity(model, loaded, texts, gold)
        if not check["fp32_max_abs_diff"] <= PARITY_ATOL:
            raise UserError(
                f"the fp32 ONNX logits differ from the checkpoint's by {check['fp32_max_abs_diff']:.2g} "
                f"(> {PARITY_ATOL}): the export is wrong, nothing was written."
            )
        timed = texts[:latency_texts]
        latency = {k: latency_ms(m, timed) for k, m in loaded.items()}
        if hp.encoder != "transformer":
            check_ids = featurizer_check(model, texts[:20], cfg["dl_portfolio"]["normalize"])
            write_json(tmp / "featurizer_check.json", check_ids)
        info = {
            "run": run_dir.name,
            "encoder": hp.encoder,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "parity": check,
            "latency_ms_per_tweet": {**latency, "batch_size": 1, "threads": os.cpu_count(), "runtime": "onnxruntime"},
            "versions": {"onnxruntime": ort.__version__, "torch": torch.__version__},
            "examples": examples(texts, gold, probs, labels),
        }
        info["sizes"] = {k: (tmp / p).stat().st_size for k, p in (("fp32", FP32), ("int8", INT8))}
        write_json(tmp / "export.json", info)  # before the card, which shows its numbers
        info["repo_id"] = model_card.repo_id(root)  # where the card's examples load it from; push-model keeps it true
        write_text(tmp / "README.md", model_card.card(metrics, cfg, info, info["repo_id"], root))
        info["files"] = {k: v for k, v in file_sizes(tmp).items() if k != "export.json"}  # it cannot hold its own
        write_json(tmp / "export.json", info)
    out = layout.export(run_dir.name)
    p, lat = info["parity"], info["latency_ms_per_tweet"]
    print(
        f"export: {out}/\n"
        f"  fp32 {info['sizes']['fp32'] / 1e6:.1f} MB, max |logit diff| {p['fp32_max_abs_diff']:.1e}, "
        f"{lat['fp32']['p50']:.1f} / {lat['fp32']['p95']:.1f} ms per tweet (p50 / p95)\n"
        f"  int8 {info['sizes']['int8'] / 1e6:.1f} MB, same label {fmt_pct(p['int8_label_agreement'])}, accuracy "
        f"{fmt_pct(p['accuracy']['int8'])} vs {fmt_pct(p['accuracy']['pytorch'])}, "
        f"{lat['int8']['p50']:.1f} / {lat['int8']['p95']:.1f} ms per tweet\n"
        "  `make push-model` uploads it to the Hugging Face Hub"
    )
    if p["int8_label_agreement"] < INT8_AGREEMENT or abs(p["int8_accuracy_delta"]) > INT8_ACCURACY_POINTS:
        print(
            f"warning: the int8 model gives the checkpoint's label on {fmt_pct(p['int8_label_agreement'])} of the test "
            f"texts (accuracy {fmt_points(p['int8_accuracy_delta'])} points): where that matters, use onnx/model.onnx."
        )
    return info


def main(argv: list[str]) -> None:
    """`export [--run NAME] [--root DIR] [--runs_dir DIR] [--latency-texts N]`."""
    parser = ArgumentParser(prog=prog("export"), description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="run folder name in runs/ (default: runs/latest)")
    parser.add_argument("--root", default=".", help="project folder (exports/ and reports/ are in it; default: .)")
    parser.add_argument("--runs_dir", "--runs-dir", default=None, help="where the runs are (default: ROOT/runs)")
    parser.add_argument("--latency_texts", "--latency-texts", type=int, default=LATENCY_TEXTS, help="texts timed")
    args = parser.parse_args(argv)
    root = Path(args.root)
    export(root, Layout(root, args.runs_dir).runs, args.run, args.latency_texts)
