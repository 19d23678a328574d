"""GPU throughput: the generated project's training loop against a hand-written PyTorch loop, fp32 and bf16.

    python bench/gpu.py --data ../shared/data/tweeteval_emotion      (on a machine with an NVIDIA GPU)

A randomly initialised base-size BERT (110M parameters; no download) is saved locally and trained for a fixed number
of steps, batch 32, through the project's CLI (`configs/trainer/gpu.yaml`, precision 32-true and bf16-mixed) and
through `run.raw_loop`, back to back. Writes bench/results/gpu.md. `--tiny` runs a 2-layer model on the CPU: a smoke
test of this script, not a measurement.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import run

HERE = Path(__file__).resolve().parent


def save_random_encoder(folder: Path, texts: list[str], tiny: bool) -> str:
    """A BERT-base-shaped (or tiny) random encoder and a word-level tokenizer built from the training texts."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=30522, special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")  # fmt: skip
    fast.save_pretrained(folder)
    size = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128}
    config = BertConfig(vocab_size=len(fast), **(size if tiny else {}))  # defaults: BERT-base
    BertModel(config).save_pretrained(folder)
    return str(folder)


def main() -> None:
    """Measure and write the table."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not ARGS.tiny:
        sys.exit("bench/gpu.py needs an NVIDIA GPU (torch sees none); --tiny runs a CPU smoke test instead.")
    data = Path(ARGS.data).resolve()
    labels = sorted({y for _, y in run.read_split(data, "train")})
    project = run.bake(HERE / "work" / "gpu")
    texts = [t for t, _ in run.read_split(data, "train")]
    backbone = save_random_encoder(Path(tempfile.mkdtemp(prefix="random-bert-")), texts, ARGS.tiny)
    preset = "configs/trainer/cpu.yaml" if ARGS.tiny else "configs/trainer/gpu.yaml"
    rows = []
    for precision in ("32-true", "bf16-mixed"):
        fixed = ["--config", preset, "--model.backbone", backbone, "--model.lr", "5e-5",
                 "--trainer.precision", precision if device == "cuda" else "32-true",
                 "--trainer.max_steps", str(ARGS.steps), "--trainer.limit_val_batches", "0",
                 "--trainer.limit_test_batches", "1", "--trainer.num_sanity_val_steps", "0"]  # fmt: skip
        lightning = run.train_project(project, f"gpu-{precision}", data, labels, fixed)
        bf16 = device == "cuda" and precision == "bf16-mixed"  # the CPU smoke test runs both in fp32
        raw = run.raw_loop(data, labels, backbone, 32, ARGS.steps, 5e-5, device, bf16=bf16)
        rows.append((precision, lightning["samples_per_second"], raw["samples_per_second"]))
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (smoke test, not a measurement)"
    lines = [
        "# GPU throughput: generated Lightning loop vs hand-written PyTorch loop",
        "",
        f"Device: {name}. Model: BERT-base shape ({'tiny, 2 layers' if ARGS.tiny else '12 layers, 768 wide'}), "
        f"random init; batch 32; {ARGS.steps} steps each, back to back; data {data.name} (dynamic padding).",
        f"Command: `python bench/gpu.py --data {ARGS.data} --steps {ARGS.steps}{' --tiny' if ARGS.tiny else ''}`",
        "",
        "| precision | Lightning samples/s | raw samples/s | Lightning/raw |",
        "|---|---:|---:|---:|",
        *[f"| {p} | {lt:.1f} | {raw:.1f} | {lt / raw:.3f} |" for p, lt, raw in rows],
        "",
        f"bf16 / fp32 speed-up (Lightning): {rows[1][1] / rows[0][1]:.2f}x",
    ]
    out = HERE / "work" / "gpu-smoke.md" if ARGS.tiny else HERE / "results" / "gpu.md"  # a smoke test is no result
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())
    print(json.dumps(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--tiny", action="store_true", help="2-layer model on the CPU: checks the script runs")
    ARGS = parser.parse_args()
    main()
