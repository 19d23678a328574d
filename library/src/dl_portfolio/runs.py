"""Reading a finished run folder back: which run, its config, its best checkpoint, its per-epoch log, its baseline."""

import csv
import inspect
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from .errors import UserError
from .layout import Layout


def resolve(runs_dir: Path, name: str | None = None) -> Path:
    """The folder of run `name` (default: `runs/latest`), or a UserError that says what to do."""
    runs_dir = Path(runs_dir)
    if name is None:
        latest = Layout(runs_dir=runs_dir).latest_run
        if not latest.exists():
            raise UserError(f"no run yet in {runs_dir}/: run `make train` first.")
        return latest.resolve()
    run_dir = runs_dir / name
    if not (run_dir / "config.yaml").is_file():
        known = sorted(p.name for p in runs_dir.glob("*") if (p / "config.yaml").is_file() and p.name != "latest")
        raise UserError(f"no run {name!r} in {runs_dir}/ (runs: {', '.join(known) or 'none'}): check --run.")
    return run_dir.resolve()


def read_config(run_dir: Path) -> dict:
    """The resolved config that `train` saved for the run."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise UserError(f"{path} is missing: {run_dir.name} is not a finished run folder; train again.")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def read_json(path: Path) -> dict | None:
    """A JSON file, or None when it does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def best_checkpoint(run_dir: Path) -> Path:
    """checkpoints/best.ckpt of the run, or a UserError (fast_dev_run and runs stopped before validation lack it)."""
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    if not ckpt.is_file():
        raise UserError(
            f"run {run_dir.name} has no checkpoints/best.ckpt (a fast_dev_run, or stopped before the first "
            "validation): train it to the end, or pick another run with --run NAME."
        )
    return ckpt


def read_checkpoint(path: Path, device: str) -> dict:
    """A checkpoint `train` wrote, or a UserError when it cannot be read (cut short by a full disk or a copy, or
    overwritten): torch's zip or pickle error says nothing a user can act on."""
    import torch

    try:
        checkpoint = torch.load(path, map_location=device, weights_only=False)  # our own file: it holds the tokenizer
        if not {"hyper_parameters", "state_dict"} <= set(checkpoint):
            raise KeyError("hyper_parameters")  # a torch file, but not a checkpoint `train` wrote
    except OSError:
        raise  # a permission or disk problem: cli.py names the file
    except Exception:
        run = path.parent.parent.name
        raise UserError(
            f"run {run}: {path.parent.name}/{path.name} is damaged (cut short or overwritten: a full disk or an "
            "interrupted copy): train the run again, or pick another with --run NAME."
        ) from None
    return checkpoint


def load_model(run_dir: Path):
    """The run's best checkpoint as a TextClassifier in eval mode, on a GPU when there is one.

    Built from the checkpoint alone: its hyperparameters, its weights and (for a transformer) the backbone config
    and tokenizer it carries, so it loads offline on a machine that never saw the backbone.
    """
    import torch

    from .project import current

    TextClassifier = current().model_class
    device = "cuda" if torch.cuda.is_available() else "cpu"
    path = best_checkpoint(run_dir)
    checkpoint = read_checkpoint(path, device)
    if "encoder_files" not in checkpoint and checkpoint["hyper_parameters"].get("encoder") == "transformer":
        # Older checkpoints carry no tokenizer: fall back to loading the backbone from the hub or its folder.
        return TextClassifier.load_from_checkpoint(path, map_location=device).eval()
    # Only the constructor's arguments (LightningCLI also stores `_instantiator`); scoring needs no compiled graph.
    known = inspect.signature(TextClassifier).parameters
    hparams = {k: v for k, v in checkpoint["hyper_parameters"].items() if k in known} | {"compile": False}
    model = TextClassifier(**hparams, encoder_files=checkpoint.get("encoder_files"))
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(device).eval()


def data_module(config: dict, model):
    """The run's data, rebuilt from its config and set up, featurized by `model`."""
    from .project import current

    dm = current().data_class(**{k: v for k, v in config["data"].items() if k != "featurizer"})
    dm.featurizer = model.featurizer
    dm.setup()
    return dm


def _number(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def epoch_history(run_dir: Path) -> list[dict]:
    """Per-epoch train/val metrics from every `logs/attempt_N/metrics.csv`; a later attempt wins for an epoch it redid.

    CSVLogger writes train and val values of one epoch on separate rows (and test on its own row): they are merged
    into one dict per epoch, `{"epoch": 0, "train/loss": ..., "val/f1_macro": ...}`, test columns left out.
    """
    attempts = sorted(
        (run_dir / "logs").glob("attempt_*/metrics.csv"), key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0)
    )
    epochs: dict[int, dict] = {}
    for path in attempts:
        seen: dict[int, dict] = {}
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                values = {k: _number(v) for k, v in row.items() if k.startswith(("train/", "val/"))}
                values = {k: v for k, v in values.items() if v is not None}
                if values and row.get("epoch") not in ("", None):
                    seen.setdefault(int(float(row["epoch"])), {}).update(values)
        epochs.update(seen)  # whole epochs: a restart that redid epoch 3 replaces all of epoch 3
    return [{"epoch": e, **epochs[e]} for e in sorted(epochs)]


def seed_members(runs_dir: Path, group: str | None) -> list[dict]:
    """The finished runs trained as one group of seeds: `{"run", "seed", **test_metrics}` each ([] without a group)."""
    if not group:
        return []
    members = []
    for other in sorted(Path(runs_dir).iterdir()):
        manifest = read_json(other / "manifest.json") if not other.is_symlink() else None
        test = read_json(other / "test_metrics.json")
        if manifest and manifest.get("group") == group and test and test.get("checkpoint"):
            members.append({"run": other.name, "seed": manifest.get("seed"), **test})
    return members


@dataclass
class Run:
    """A finished run folder, opened once: each part is read the first time it is asked for, then kept."""

    folder: Path
    runs_dir: Path

    @classmethod
    def open(cls, runs_dir: Path, name: str | None = None) -> "Run":
        """Run `name` in `runs_dir` (default: the one `latest` points to), or a UserError saying what to do."""
        return cls(resolve(runs_dir, name), Path(runs_dir))

    @property
    def name(self) -> str:
        """The run folder's name."""
        return self.folder.name

    @cached_property
    def config(self) -> dict:
        """The resolved config `train` saved."""
        return read_config(self.folder)

    @cached_property
    def manifest(self) -> dict:
        """manifest.json (seed, versions, hardware, data fingerprints, group); {} for a run without one."""
        return read_json(self.folder / "manifest.json") or {}

    @cached_property
    def model(self):
        """The best checkpoint, in eval mode."""
        return load_model(self.folder)

    @cached_property
    def data(self):
        """The run's data module, set up and featurized by its model."""
        return data_module(self.config, self.model)

    @cached_property
    def test_metrics(self) -> dict:
        """test_metrics.json: the test scores of the best checkpoint and the epochs trained; {} without one."""
        return read_json(self.folder / "test_metrics.json") or {}

    @cached_property
    def history(self) -> list[dict]:
        """Per-epoch train/val metrics."""
        return epoch_history(self.folder)

    @cached_property
    def baseline(self) -> dict | None:
        """The bag-of-n-grams run it is compared with, and what it lacks to count (baseline.candidate), or None."""
        from .baseline import candidate  # baseline reads run folders through this module

        return candidate(self.runs_dir, self.folder, self.config, self.manifest.get("data"))

    def baseline_model(self):
        """The baseline run's best checkpoint (None without a baseline, or with one not trained as its preset says)."""
        found = self.baseline
        return load_model(self.runs_dir / found["run"]) if found and not found["why"] else None

    @cached_property
    def seed_group(self) -> list[dict]:
        """The runs of its group of seeds (see seed_members)."""
        return seed_members(self.runs_dir, self.manifest.get("group"))
