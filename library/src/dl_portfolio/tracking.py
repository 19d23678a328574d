"""Weights & Biases tracking beside the always-on CSV log: online with a key, offline (synced later) without one.

Secrets are read from the environment only (`.env` is loaded into it at start) and never written anywhere.
"""

import netrc
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lightning.pytorch.utilities import rank_zero_info

from .metrics import per_class


@dataclass
class Tracking:
    """Where metrics go besides the CSV log."""

    backend: Literal["wandb", "none"] = "none"
    project: str = "dl-portfolio"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)
    log_model: bool = False
    mode: Literal["auto", "online", "offline"] = "auto"
    group: str | None = None  # W&B run group: a sweep puts its trials and final run in one


def has_wandb_key() -> bool:
    """True when WANDB_API_KEY is set or `wandb login` stored a key in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def is_offline(cfg: Tracking) -> bool:
    """Offline when asked, when WANDB_MODE says so, or (mode auto) when no key is configured."""
    if cfg.mode != "auto":
        return cfg.mode == "offline"
    return os.environ.get("WANDB_MODE") in ("offline", "dryrun") or not has_wandb_key()


def run_id(run_dir: Path) -> str:
    """The W&B run id of this run folder, created once so a resumed run continues the same W&B run."""
    path = run_dir / "wandb_id"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex[:12])
    return path.read_text().strip()


def loggers(cfg: Tracking, run_dir: Path, run_name: str) -> list:
    """The extra Lightning loggers for `cfg` (none, or one WandbLogger)."""
    if cfg.backend == "none":
        return []
    from lightning.pytorch.loggers import WandbLogger

    offline = is_offline(cfg)
    rank_zero_info(f"tracking: W&B {'offline' if offline else 'online'}, project {cfg.project}")
    logger = WandbLogger(
        project=cfg.project,
        entity=cfg.entity,
        name=run_name,
        group=cfg.group,
        id=run_id(run_dir),
        resume="allow",
        save_dir=str(run_dir),
        offline=offline,
        tags=cfg.tags,
        log_model=cfg.log_model and not offline,
    )
    # Lightning always passes `anonymous` to wandb.init, and wandb then warns that the setting has no effect.
    logger._wandb_init.pop("anonymous", None)
    return [logger]


def finish(trainer, model, cfg: Tracking, run_config: dict, manifest: dict) -> None:
    """Send the run's config, git sha and test details to W&B, close the run, and print the sync command offline.

    `run_config` is the resolved config (it never holds secrets: those live only in the environment).
    """
    if cfg.backend == "none":
        return
    confusion = model.test_confusion.compute().tolist()  # every rank: in DDP this is a collective operation
    if not trainer.is_global_zero:
        return
    import wandb

    run = wandb.run
    if run is None:
        return
    labels = list(model.hparams.labels)
    run.config.update({"run": run_config, "seed": manifest["seed"], "git": manifest["git"]}, allow_val_change=True)
    table = [{"label": label, **scores} for label, scores in per_class(confusion, labels).items()]
    run.log(
        {
            "test/per_class": wandb.Table(columns=list(table[0]), data=[list(r.values()) for r in table]),
            "test/confusion_matrix": wandb.Table(
                columns=["gold \\ predicted", *labels],
                data=[[g, *row] for g, row in zip(labels, confusion, strict=True)],
            ),
        }
    )
    folder, url = Path(run.dir).parent, run.url
    wandb.finish()
    if is_offline(cfg):
        print(f"W&B run saved offline; upload it with: wandb sync {folder}")
    elif url:  # quiet.py silences wandb's own lines (WANDB_SILENT): this is the one worth keeping
        print(f"W&B run: {url}")
