"""A run folder while it trains: claimed atomically, locked, its checkpoints written aside, and given back in one
line when the training fails.

Claim: `os.mkdir` is the claim, the one step two processes cannot both win. Two trainings started in the same
second both want `<time>`: one makes it, the other finds it made and takes `<time>-2`. A folder named on the command
line (--run_name, --resume) may exist and is trained on again, unless a running training holds it: each training
holds a lock (flock) on its folder, which the kernel releases when the process ends, however it ends, so a killed
training never blocks its folder. The folder is claimed only after the config and the data were checked, so a
refused command makes none.

Failure: a run that failed before its first checkpoint cannot be resumed, reported or exported, and would show in
runs/ as one; the folder this training made is removed (and runs/ too, when it made that), so the failed command
leaves runs/ as it was and the error line says what happened. A run with a checkpoint is kept: it resumes from it.
A sweep's trials save no weights: their logged validation scores are what they make, kept when there is one (a
pruned trial). A folder this training did not make (a resume, a named run trained again) is never removed.
"""

import errno
import io
import os
import shutil
import sys
from contextlib import suppress
from datetime import datetime
from pathlib import Path

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from .errors import UserError
from .files import write_bytes

# DDP starts one process per device with the same command line; they must agree on the run folder.
RUN_ENV = "PORTFOLIO_RUN_NAME"
# Set in the processes of a multi-process training that are not its first (Lightning's DDP ranks, torchrun, SLURM).
RANK_VARIABLES = ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID")


def first_process() -> bool:
    """Whether this is the process that claims and gives back the run folder (rank 0, or the only one)."""
    return all(os.environ.get(name, "0") == "0" for name in RANK_VARIABLES)


def shown(path: Path) -> str:
    """`path` as the user would type it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def size_text(n: float) -> str:
    """Bytes in kB below a megabyte, MB above: enough to see how much more space is needed."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def mount_point(path: Path) -> Path:
    """The mount point of the disk `path` is on."""
    path = path.resolve()
    while not os.path.ismount(path):
        path = path.parent
    return path


class DiskFull(UserError):
    """A checkpoint that did not fit on its disk; the one it was to replace is untouched."""

    @classmethod
    def writing(cls, path: Path, needed: int) -> "DiskFull":
        free = shutil.disk_usage(path.parent).free
        where = mount_point(path.parent)
        return cls(f"no space left on {where} for {shown(path)} ({size_text(needed)} needed, {size_text(free)} free)")


class AsideCheckpointIO(TorchCheckpointIO):
    """Lightning's torch.save checkpoints, written as every file here is (files.write_bytes): to a temp file in the
    checkpoint's own folder, fsynced, then renamed over the old one. Lightning's own writer renames from a temp file
    in /tmp, which across disks is a copy: a full disk then leaves a truncated best.ckpt under its final name.
    A full disk here is one line (DiskFull), the previous checkpoint whole."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        if storage_options is not None:
            return super().save_checkpoint(checkpoint, path, storage_options)  # which refuses them
        path = Path(path)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        # Not its parents: a run folder deleted while it trains stays deleted. A save already past this line can
        # still make it again (write_bytes makes parents): RunFolder.deleted knows the folder by its inode.
        path.parent.mkdir(exist_ok=True)
        try:
            write_bytes(path, buffer.getbuffer())
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise DiskFull.writing(path, buffer.getbuffer().nbytes) from None
        return None


class RunFolder:
    """The folder one training writes into: `claim` it once the inputs are checked, `abandon` it if the training
    fails, `release` it at the end however it ends."""

    def __init__(self, checkpoints: bool = True) -> None:
        self.checkpoints = checkpoints  # False for a sweep's trials: they save no weights
        self.path: Path | None = None
        self.made: list[Path] = []  # the folders this training made (runs/ too, when it did not exist)
        self.lock: int | None = None

    def claim(self, runs_dir: Path, name: str | None) -> Path:
        """Make (or, when named, reuse) runs_dir/name, or runs_dir/<time>[-N] without a name, and lock it."""
        if not first_process():  # the other ranks write into the folder the first one claimed
            self.path = runs_dir / (name or datetime.now().strftime("%Y%m%d-%H%M%S"))
            return self.path
        for parent in reversed([runs_dir, *runs_dir.parents]):
            if not parent.exists():
                parent.mkdir()
                self.made.append(parent)
        base, n = name or datetime.now().strftime("%Y%m%d-%H%M%S"), 1
        while True:
            self.path = runs_dir / (base if n == 1 else f"{base}-{n}")
            try:
                self.path.mkdir()
                self.made.append(self.path)
                break
            except FileExistsError:
                if name:  # named: train in it again, unless a running training holds it
                    break
                n += 1
        self.hold()
        os.environ[RUN_ENV] = self.path.name
        return self.path

    def hold(self) -> None:
        """Lock the folder for this process, or refuse in one line when a running training holds it."""
        import fcntl

        self.lock = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock)
            self.lock = None
            raise UserError(
                f"{shown(self.path)} is in use by a training that is still running: wait for it to end, or train "
                "under another name (--run_name)."
            ) from None

    def resumable(self) -> bool:
        """Whether the run has a checkpoint to resume from (best.ckpt alone is the first epoch's, half saved)."""
        return (self.path / "checkpoints" / "last.ckpt").is_file()

    def deleted(self) -> bool:
        """Whether the folder this training holds was removed, even when a late writer (a checkpoint half-way through
        its save, a logger) has since made one of the same name: the held folder is known by its inode, not its name."""
        try:
            return not os.path.samestat(os.fstat(self.lock), os.stat(self.path))
        except FileNotFoundError:
            return True

    def worth_keeping(self) -> bool:
        """A checkpoint to resume from, or for a sweep's trial (no weights) a logged epoch."""
        if self.checkpoints:
            return self.resumable()
        return any(self.path.glob("logs/attempt_*/metrics.csv"))

    def abandon(self, error: BaseException) -> UserError | None:
        """After `error` ended the training: close W&B, remove what this training made when nothing in it can be
        used, and return the one line to print when the cause is one the user can fix (a full disk, the folder
        deleted); None: `error` is raised as it is."""
        if self.path is None or self.lock is None:
            return None  # nothing claimed yet, or not the first process: nothing of ours to give back
        gone = self.deleted()
        finish_wandb()
        if gone:
            shutil.rmtree(self.path, ignore_errors=True)  # anything a logger wrote again on its way out
            self.remove_made()
            return UserError(
                f"the run folder {shown(self.path)} was deleted while it trained: the run cannot go on and nothing of "
                "it is left; train again."
            )
        kept = self.worth_keeping() or self.path not in self.made
        if not kept:
            shutil.rmtree(self.path, ignore_errors=True)
            self.remove_made()
        full = next((e for e in chain(error) if isinstance(e, DiskFull)), None)
        if full is None:
            return None
        if self.resumable():
            then = f", then resume from its last checkpoint (kept whole) with `make train RESUME={self.path.name}`"
        elif kept:
            then = " and train again"
        else:
            then = " and train again (the run had no checkpoint to resume from yet: its folder was removed)"
        return DiskFull(f"{full}: free some space{then}.")

    def remove_made(self) -> None:
        """Remove the folders this training made (the run folder is removed whole first), when empty."""
        for folder in reversed(self.made):
            with suppress(OSError):
                folder.rmdir()

    def release(self) -> None:
        """Unlock the folder (a seed group trains several runs in one process)."""
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def chain(error: BaseException | None):
    """`error` and the exceptions it was raised while handling: a logger's failure on the way out hides the cause."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def finish_wandb() -> None:
    """Close the W&B run a failed training leaves open, marked failed, quietly: its troubles are not the error."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        with suppress(Exception):
            wandb.finish(exit_code=1)
