"""`make train` as a user runs it: one config over several seeds (`SEEDS=3`) into one run group, then the
bag-of-n-grams baseline on the same data when there is none yet, so the first report already compares."""

import os
from datetime import datetime
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_info

from . import runs
from .baseline import BOW_EPOCHS, BOW_PRESET
from .errors import UserError
from .files import point_link
from .layout import Layout
from .runner import train


def pop_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of `--name V` or `--name=V` in `args` (the last one wins) and `args` without it."""
    value, rest, skip = None, [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg == name and i + 1 < len(args):
            value, skip = args[i + 1], True
        elif arg.startswith(f"{name}="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest


def train_seeds(args: list[str], seeds: int) -> list[dict]:
    """Train the same config with seeds 0..seeds-1 as runs `<group>-seed<N>` of one group; `runs/latest` then points
    at the seed with the best validation macro-F1 (chosen on validation, never on test)."""
    name, args = pop_option(args, "--run_name")
    runs_dir = Path(pop_option(args, "--runs_dir")[0] or "runs")
    group = name or datetime.now().strftime("%Y%m%d-%H%M%S")
    results = []
    for seed in range(seeds):
        run = f"{group}-seed{seed}"
        results.append(train([*args, "--seed_everything", str(seed), "--run_name", run, "--group", group]))
    best = max(range(seeds), key=lambda s: (results[s].get("best_val_f1_macro") or 0.0, -s))
    point_link(Layout(runs_dir=runs_dir).latest_run, runs_dir / f"{group}-seed{best}")
    rank_zero_info(f"group {group}: {seeds} seeds; runs/latest -> {group}-seed{best} (best validation macro-F1)")
    return results


def train_baseline(args: list[str]) -> dict | None:
    """Train the bag of n-grams on the same data as the run `runs/latest` points to, when it is a transformer run
    and no bag-of-n-grams run on that data was trained as its preset says; `runs/latest` stays on the transformer
    run."""
    runs_dir = Path(pop_option(args, "--runs_dir")[0] or "runs")
    latest = Layout(runs_dir=runs_dir).latest_run
    if "WORLD_SIZE" in os.environ or not latest.exists() or not BOW_PRESET.is_file():
        return None  # several processes (DDP, torchrun) would each train it: `make train MODEL=bow` does it once
    opened = runs.Run(latest.resolve(), runs_dir)
    run_dir, found = opened.folder, opened.baseline
    if opened.config.get("model", {}).get("encoder") != "transformer" or (found and not found["why"]):
        return None
    rest = args
    for option in ("--run_name", "--resume", "--group", "--seed_everything"):
        rest = pop_option(rest, option)[1]
    rank_zero_info(f"baseline: training the bag of n-grams on the same data ({BOW_PRESET}, {BOW_EPOCHS} epochs)")
    bow = [*rest, "--model", str(BOW_PRESET), "--trainer.max_epochs", str(BOW_EPOCHS),
           "--run_name", f"{run_dir.name}-bow", "--tracking.backend", "none"]  # fmt: skip
    result = train(bow)
    point_link(latest, run_dir)
    return result


def main(args: list[str]) -> None:
    """`train [--seeds N] [--no_baseline] [LightningCLI options]`."""
    seeds, args = pop_option(args, "--seeds")
    if seeds is not None and not (seeds.isdigit() and int(seeds) >= 1):
        raise UserError(f"--seeds {seeds!r} is not a whole number of seeds >= 1: use e.g. `make train SEEDS=3`.")
    baseline = "--no_baseline" not in args and not any(a.startswith("--trainer.fast_dev_run") for a in args)
    args = [a for a in args if a != "--no_baseline"]
    if seeds and int(seeds) > 1:
        train_seeds(args, int(seeds))
    else:
        train(args)
    if baseline:
        train_baseline(args)
