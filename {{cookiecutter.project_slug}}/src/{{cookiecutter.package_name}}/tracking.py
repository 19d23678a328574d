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


@dataclass
class Tracking:
    """Where metrics go besides the CSV log."""

    backend: Literal["wandb", "none"] = "none"
    project: str = "dl-portfolio"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)
    log_model: bool = False
    mode: Literal["auto", "online", "offline"] = "auto"


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
    return [
        WandbLogger(
            project=cfg.project,
            entity=cfg.entity,
            name=run_name,
            id=run_id(run_dir),
            resume="allow",
            save_dir=str(run_dir),
            offline=offline,
            tags=cfg.tags,
            log_model=cfg.log_model and not offline,
        )
    ]


def finish(trainer, cfg: Tracking) -> None:
    """Close the W&B run; offline runs print the exact command that uploads them."""
    if cfg.backend == "none" or not trainer.is_global_zero:
        return
    import wandb

    run = wandb.run
    folder = Path(run.dir).parent if run is not None else None
    wandb.finish()
    if folder is not None and is_offline(cfg):
        print(f"W&B run saved offline; upload it with: wandb sync {folder}")
