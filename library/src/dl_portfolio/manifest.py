"""What a result needs to be reproduced: seed, versions, git state, hardware, command line, times."""

import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata

import torch


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def versions() -> dict[str, str]:
    """Versions of python and the libraries that decide the numbers."""
    out = {"python": platform.python_version()}
    for dist in ("torch", "lightning", "torchmetrics", "transformers", "tokenizers"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def hardware() -> dict:
    """CPU, and each GPU's name and memory when there are GPUs."""
    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append({"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1)})
    return {"platform": platform.platform(), "cpu": platform.processor() or platform.machine(), "gpus": gpus}


def now() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def build(seed: int, run_name: str, data: dict | None = None) -> dict:
    """The manifest of a run that is starting now; `data` holds the fingerprint of each split it trains on."""
    sha = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain")
    return {
        "run": run_name,
        "seed": seed,
        "command": [sys.argv[0].rsplit("/", 1)[-1], *sys.argv[1:]],
        "git": {"sha": sha, "dirty": bool(dirty) if sha else None},
        "versions": versions(),
        "hardware": hardware(),
        "data": data,
        "started": now(),
        "finished": None,
    }
