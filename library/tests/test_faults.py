"""Faults while a run trains, is read or is pushed, through the real command line, as tables: each ends in exactly one
`error:` line (asserted whole), exit code 2, no traceback from anything (Lightning, W&B, logging), and the project
folder as it was (every file hashed before and after, as test_bad_inputs does).

Real parts, not mocks: Lightning training on the tiny data, a full disk that is a real tmpfs mounted for the test
(root, or sudo without a password; skipped otherwise), a run folder deleted under a training that is running, a
second training that really holds its folder (stopped with SIGSTOP while the case runs), checkpoints damaged the way a
full disk leaves them (cut short), and the fake Hub over HTTP. The commands that train run in a fresh process, as
`make train` does, so that everything W&B and Python print on the way out is seen.
"""

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import torch
from dl_portfolio.run_folder import RunFolder

from .conftest import PACKAGE, copy_project
from .fake_hub import FakeHub
from .test_bad_inputs import TRAIN, data_folder, run, snapshot

TOKEN = "hf_" + "fakeTOKENforTheFaultTable7"  # split: the no-secrets pre-commit hook would refuse it whole
REPO = "someone/tiny-model"
# Lines a training may print on stderr besides its one error line: anything else (a traceback, a W&B or logging
# complaint) fails the case.
OUR_LINES = ("data: ", "tracking: ", "preflight: ", "warning: ", "error: ")
WANDB = ["--tracking.backend", "wandb", "--tracking.mode", "offline"]
OLD_CARD = (
    '---\nlicense: mit\nmodel-index:\n- name: old-name\n---\n\n```python\nsnapshot_download("someone/old-name")\n```\n'
)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A project folder with local data, a finished run `good` and its export (made for another repo than the one
    the push cases name, so a push would rewrite its card), and `damaged`: a copy of `good` whose best.ckpt was cut
    short, as a full disk used to leave it."""
    folder = tmp_path_factory.mktemp("project")
    copy_project(folder)
    data_folder(folder, "local")
    code, err = train_here(folder, [*TRAIN, "--run_name", "good"])
    assert code == 0, err
    good = folder / "runs" / "good"
    shutil.copytree(good, folder / "runs" / "damaged")
    best = folder / "runs" / "damaged" / "checkpoints" / "best.ckpt"
    best.write_bytes(best.read_bytes()[: best.stat().st_size // 3])
    export = folder / "exports" / "good"
    (export / "onnx").mkdir(parents=True)
    (export / "README.md").write_text(OLD_CARD)
    (export / "config.json").write_text(json.dumps({"id2label": {"0": "cats", "1": "dogs", "2": "fish"}}))
    (export / "export.json").write_text(json.dumps({"repo_id": "someone/old-name", "files": {"README.md": 1}}))
    (export / "onnx" / "model.onnx").write_bytes(os.urandom(50_000))
    return folder


def train_here(folder: Path, argv: list[str]) -> tuple[int, str]:
    """`python -m PACKAGE ARGV` in `folder`, as `make train` runs it: (exit code, stderr)."""
    out = subprocess.run(
        [sys.executable, "-m", PACKAGE, *argv], cwd=folder, capture_output=True, text=True, timeout=300, env=env()
    )
    return out.returncode, out.stderr


def env() -> dict:
    """The environment of a command the tests start: W&B's own cache and settings kept out of HOME."""
    wandb = str(Path(tempfile.gettempdir()) / "dl-portfolio-tests-wandb")
    return {**os.environ, "WANDB_CACHE_DIR": wandb, "WANDB_CONFIG_DIR": wandb}


def one_line(code: int, err: str, expected: str | re.Pattern) -> re.Match | None:
    """The command failed (2) with exactly one `error:` line, `expected` whole, and printed nothing of its own."""
    assert "Traceback" not in err and "Logging error" not in err, err[-4000:]
    assert code == 2, err[-4000:]
    ours = [line.removeprefix("INFO: ") for line in err.splitlines()]  # in this process, pytest's log format
    assert [line for line in ours if not line.startswith(OUR_LINES)] == [], err[-4000:]
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    if isinstance(expected, re.Pattern):
        match = expected.fullmatch(line)
        assert match, line
        return match
    assert line == expected
    return None


# --- a second training on a folder in use ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy(root):
    """A training really running in runs/busy, stopped (SIGSTOP) once it saved a checkpoint: it holds its folder,
    and writes nothing while a case hashes the project. Killed (SIGKILL) at the end."""
    argv = [*TRAIN, "--run_name", "busy", "--trainer.max_epochs", "100000"]
    log = open(root.parent / "busy.log", "w")  # noqa: SIM115 (the process outlives this function)
    proc = subprocess.Popen([sys.executable, "-m", PACKAGE, *argv], cwd=root, stderr=log, stdout=log, env=env())
    last = root / "runs" / "busy" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while not last.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGSTOP)
    assert last.is_file(), (root.parent / "busy.log").read_text()[-3000:]
    yield proc
    proc.kill()
    proc.wait()
    log.close()


IN_USE = (
    "error: runs/busy is in use by a training that is still running: wait for it to end, or train under another name "
    "(--run_name)."
)
DAMAGED = (
    "error: run damaged: checkpoints/best.ckpt is damaged (cut short or overwritten: a full disk or an interrupted "
    "copy): train the run again, or pick another with --run NAME."
)
BAD_REPO = (
    "error: 'user/bad..name--' is not a Hub repo id: give --repo (or HF_REPO) as USER/NAME: letters, digits, '-', "
    "'_' and '.', no '--' or '..', neither part starting or ending with '-' or '.', at most 96 characters."
)
TOKEN_REJECTED = (
    f"error: the Hugging Face Hub rejected HF_TOKEN (401) for {REPO}: create a token with write access at "
    "https://huggingface.co/settings/tokens and put HF_TOKEN=... in .env, or set HF_REPO to a namespace the token can "
    "write to."
)
COMMIT_REFUSED = f"error: the Hugging Face Hub refused the upload to {REPO} (422): Your push was rejected: too large"


def closed_port() -> str:
    """An address nothing listens on: connection refused, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# (id, argv, what the case needs: "busy" or a Hub ("offline", "hub", "wrong-token", (status, message)), the line)
REFUSED = [
    ("run-name-in-use", [*TRAIN, "--run_name", "busy"], "busy", IN_USE),
    ("resume-in-use", [*TRAIN, "--resume", "busy"], "busy", IN_USE),
    ("report-damaged-checkpoint", ["report", "--run", "damaged"], None, DAMAGED),
    ("predict-damaged-checkpoint", ["predict", "--run", "damaged", "--text", "purr meow"], None, DAMAGED),
    ("push-invalid-repo-id", ["push-model", "--run", "good", "--repo", "user/bad..name--"], "hub", BAD_REPO),
    ("push-offline", ["push-model", "--run", "good", "--repo", REPO], "offline",
     "error: could not reach the Hugging Face Hub at {endpoint} (ConnectError): check your network and run "
     "`make push-model` again."),
    ("push-token-rejected", ["push-model", "--run", "good", "--repo", REPO], "wrong-token", TOKEN_REJECTED),
    ("push-commit-refused", ["push-model", "--run", "good", "--repo", REPO], (422, "Your push was rejected: too large"),
     COMMIT_REFUSED),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "needs", "expected"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_fault_is_one_line_and_changes_nothing(root, capfd, monkeypatch, request, argv, needs, expected):
    if needs == "busy":
        request.getfixturevalue("busy")
    hub = None
    if needs == "offline":
        monkeypatch.setenv("HF_ENDPOINT", closed_port())
    elif needs is not None and needs != "busy":
        hub = FakeHub(TOKEN, refuse_commits=needs if isinstance(needs, tuple) else None).__enter__()
        request.addfinalizer(hub.__exit__)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", "hf_wrongtoken" if needs == "wrong-token" else TOKEN)
    before = snapshot(root)
    code, err, _ = run(root, argv, capfd)
    one_line(code, err, expected.format(endpoint=os.environ.get("HF_ENDPOINT")))
    assert snapshot(root) == before  # the export's card and export.json too: rewritten only after a push succeeded
    if needs == "hub":
        assert hub.requests == []  # refused before anything was sent
    if isinstance(needs, tuple):  # the files went up, the Hub refused the commit: still nothing changed here
        assert any(r["path"].startswith("/lfs-upload/") for r in hub.requests) and hub.commits == []


def test_make_push_model_with_an_invalid_repo_id_is_one_line(root):
    """The issue's command as written (FORCE=1: past `make ready`'s gate, which a fresh project does not pass)."""
    before = snapshot(root)
    make = ["make", "--no-print-directory", "push-model", "HF_REPO=user/bad..name--", "FORCE=1"]
    out = subprocess.run(
        [*make, f"PYTHON={sys.executable}"], cwd=root, capture_output=True, text=True, timeout=120,
        env={**env(), "HF_TOKEN": TOKEN},
    )  # fmt: skip
    ours = "\n".join(line for line in out.stderr.splitlines() if not line.startswith("make: "))  # make's own "Error 2"
    one_line(out.returncode, ours, BAD_REPO)
    assert snapshot(root) == before


def test_a_killed_training_leaves_its_folder_free_to_resume(root, busy, capfd):
    busy.kill()  # SIGKILL: no cleanup runs; the kernel releases its lock
    busy.wait()
    epoch = torch.load(root / "runs" / "busy" / "checkpoints" / "last.ckpt", weights_only=False)["epoch"]
    code, err, _ = run(root, [*TRAIN, "--resume", "busy", "--trainer.max_epochs", str(epoch + 2)], capfd)
    assert code == 0 and "error:" not in err, err
    assert json.loads((root / "runs" / "busy" / "test_metrics.json").read_text())["epochs"] == epoch + 2


# --- a full disk, a folder deleted under a training ----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real disk of 2 MB: a tmpfs mounted for the test, unmounted after."""
    disk = tmp_path / "disk"
    disk.mkdir()
    for sudo in ([], ["sudo", "-n"]):
        mount = subprocess.run(
            [*sudo, "mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
        )
        if mount.returncode == 0:
            break
    else:
        pytest.skip(f"mounting a tmpfs needs root or sudo without a password: {mount.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run([*sudo, "umount", str(disk)], check=True)


def fill(disk: Path, leave: int) -> None:
    """Fill `disk` with a file until `leave` bytes are free."""
    (disk / "ballast").write_bytes(b"\0" * (shutil.disk_usage(disk).free - leave))


def checkpoint_size(root: Path) -> int:
    """The size of a checkpoint of the TRAIN model (the cases train the same one)."""
    return (root / "runs" / "good" / "checkpoints" / "last.ckpt").stat().st_size


def disk_full_line(disk: Path, run: str, then: str) -> re.Pattern:
    ckpt = re.escape(str(disk / "runs" / run / "checkpoints"))
    return re.compile(
        rf"error: no space left on {re.escape(str(disk))} for {ckpt}/(?P<file>best|last)\.ckpt "
        rf"\((?P<needed>\d+) kB needed, (?P<free>\d+) kB free\): free some space{re.escape(then)}"
    )


def test_full_disk_at_the_first_checkpoint_leaves_nothing(root, small_disk):
    """The disk fills while the first best.ckpt is written: no run to resume, so the folder this training made
    (and runs/, which it made too) goes; nothing on the disk or in the project changed."""
    fill(small_disk, checkpoint_size(root) // 2)
    before, disk_before = snapshot(root), snapshot(small_disk)
    code, err = train_here(root, [*TRAIN, *WANDB, "--runs_dir", str(small_disk / "runs"), "--run_name", "first"])
    then = " and train again (the run had no checkpoint to resume from yet: its folder was removed)."
    found = one_line(code, err, disk_full_line(small_disk, "first", then))
    assert found["file"] == "best" and int(found["needed"]) == round(checkpoint_size(root) / 1e3)
    assert int(found["free"]) < int(found["needed"])
    assert snapshot(small_disk) == disk_before and snapshot(root) == before


def test_full_disk_later_keeps_the_previous_checkpoint_whole(root, small_disk):
    """Room for the first epoch's two checkpoints, not for a third: the second epoch's save fails beside them,
    they stay whole (no temp file, no truncated checkpoint), the line says how to resume, and the resume works."""
    size = checkpoint_size(root)
    fill(small_disk, size * 5 // 2)
    before = snapshot(root)
    argv = [*TRAIN, *WANDB, "--runs_dir", str(small_disk / "runs"), "--run_name", "full", "--trainer.max_epochs", "3"]
    code, err = train_here(root, argv)
    then = ", then resume from its last checkpoint (kept whole) with `make train RESUME=full`."
    found = one_line(code, err, disk_full_line(small_disk, "full", then))
    assert abs(int(found["needed"]) - size / 1e3) <= 1 and int(found["free"]) < int(found["needed"])
    folder = small_disk / "runs" / "full" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]  # no temp file left beside them
    for name in ("best.ckpt", "last.ckpt"):
        assert torch.load(folder / name, weights_only=False)["epoch"] == 0  # whole: the first epoch's
    assert snapshot(root) == before
    (small_disk / "ballast").unlink()
    code, err = train_here(root, [*argv[:-4], "--resume", "full", "--trainer.max_epochs", "3"])
    assert code == 0, err[-3000:]
    assert json.loads((small_disk / "runs" / "full" / "test_metrics.json").read_text())["epochs"] == 3


def test_run_folder_deleted_while_training_is_one_line(root):
    """The run folder is removed (rm -rf) once the training saved a checkpoint: it ends in one line and writes
    nothing again (no half-made folder reappears)."""
    before = snapshot(root)
    argv = [*TRAIN, *WANDB, "--run_name", "gone", "--trainer.max_epochs", "100000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", PACKAGE, *argv], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env(),
    )  # fmt: skip
    folder = root / "runs" / "gone"
    deadline = time.time() + 240
    while not (folder / "checkpoints" / "last.ckpt").is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    while folder.exists():  # the training may write while the folder goes: again until it is gone
        shutil.rmtree(folder, ignore_errors=True)
    _, err = proc.communicate(timeout=240)
    one_line(
        proc.returncode, err,
        "error: the run folder runs/gone was deleted while it trained: the run cannot go on and nothing of it is "
        "left; train again.",
    )  # fmt: skip
    assert snapshot(root) == before


def test_a_deleted_run_folder_is_known_even_when_a_late_writer_made_it_again(tmp_path, monkeypatch):
    """A writer already past its mkdir when the folder went (a checkpoint mid-save) makes runs/gone again before the
    training fails: the folder is still the deleted one (it is known by the inode it holds), and what was written
    again is removed with the folder this training made."""
    monkeypatch.chdir(tmp_path)
    folder = RunFolder()
    path = folder.claim(Path("runs"), "gone")
    shutil.rmtree(path)
    (path / "checkpoints").mkdir(parents=True)
    (path / "checkpoints" / "last.ckpt").write_bytes(b"written again")
    problem = folder.abandon(FileNotFoundError("runs/gone/logs/attempt_0/metrics.csv"))
    folder.release()
    assert str(problem) == (
        "the run folder runs/gone was deleted while it trained: the run cannot go on and nothing of it is left; "
        "train again."
    )
    assert list(tmp_path.iterdir()) == []  # runs/ too: this training made it


# --- trainings at the same time --------------------------------------------------------------------------------------


def times(start: datetime, seconds: int) -> list[str]:
    """The run names the clock gives from `start` on, one a second."""
    return [(start + timedelta(seconds=s)).strftime("%Y%m%d-%H%M%S") for s in range(seconds)]


def test_a_training_whose_second_is_taken_gets_its_own_folder(root, tmp_path, capfd):
    """Another training made `<time>` between this one's start and its claim (here: every second of the next few
    minutes is taken): os.mkdir refuses the name, and the run goes to `<time>-2`, the other folders untouched."""
    runs = tmp_path / "runs"
    taken = times(datetime.now(), 300)
    for name in taken:
        (runs / name).mkdir(parents=True)
    code, err, _ = run(root, [*TRAIN, "--runs_dir", str(runs)], capfd)
    assert code == 0, err
    made = sorted(p.name for p in runs.iterdir() if p.name not in taken and p.name != "latest")
    assert len(made) == 1 and made[0].endswith("-2") and made[0][:-2] in taken
    assert all(not any((runs / name).iterdir()) for name in taken)  # the other trainings' folders: as they were
    assert os.readlink(runs / "latest") == made[0]


@pytest.mark.serial
def test_two_trainings_started_together_never_share_a_folder(root, tmp_path):
    """Two real `train` processes at once, with W&B: two folders, each with its own W&B run and each epoch logged
    once (they used to share one folder: every metrics row twice, checkpoints overwritten)."""
    runs = tmp_path / "runs"
    for name in times(datetime.now(), 300):  # every second taken: both race for the same `<time>-2` names
        (runs / name).mkdir(parents=True)
    argv = [sys.executable, "-m", PACKAGE, *TRAIN, *WANDB, "--runs_dir", str(runs), "--trainer.max_epochs", "2"]
    procs = [subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()) for _ in "ab"]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()[-3000:]
    made = [p for p in runs.iterdir() if p.name != "latest" and any(p.iterdir())]
    assert len(made) == 2, sorted(p.name for p in made)
    print("two trainings at once:", sorted(p.name for p in made))
    for folder in made:
        with (folder / "logs" / "attempt_0" / "metrics.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["epoch"] for r in rows if r["val/f1_macro"]] == ["0", "1"]  # each epoch once, not once a training
        assert len(list((folder / "wandb").glob("offline-run-*"))) == 1
