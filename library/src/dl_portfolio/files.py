"""Atomic writes: a reader (or a crash) never sees a half-written file."""

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path


def umask() -> int:
    """The process's umask (reading it means setting it: it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: Path) -> int:
    """The mode a rewrite of `path` should have: the one it has, or a new file's usual mode under the umask.

    mkstemp makes its file 0600: renamed over a README, docs page or report, that would lock out everyone else.
    """
    return path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~umask()


def temp_beside(path: Path, data: bytes) -> Path:
    """`data` in a new, fsynced temp file beside `path` with the mode `path` should have; nothing left if it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, usual_mode(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    os.replace(temp_beside(path, data), path)


def write_text(path: str | Path, text: str) -> None:
    """Atomically write `text` as UTF-8."""
    write_bytes(path, text.encode("utf-8"))


def json_text(data) -> str:
    """`data` as the indented JSON every file here is written in."""
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"


def write_json(path: str | Path, data) -> None:
    """Atomically write `data` as indented JSON."""
    write_text(path, json_text(data))


def write_csv(path: str | Path, header: list[str], rows: list[list]) -> None:
    """Atomically write rows as CSV (quoted where needed) under a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def point_link(link: str | Path, target: str | Path) -> None:
    """Make `link` a symlink to `target` (relative), replacing an older link atomically."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)


class Staged:
    """Files and folders that change together or not at all (`with Staged() as stage:`).

    Everything is written beside its target first; only once all of it is written, and nothing raised, do renames
    (which cannot run out of space) put it in place. On an error the temp copies go and the targets stay as they were.
    """

    def __init__(self) -> None:
        self.files: list[tuple[Path, Path]] = []
        self.folders: list[tuple[Path, Path]] = []
        self.made: list[Path] = []  # folders made for the targets: they go too on an error

    def parents(self, path: Path) -> None:
        """Make the missing folders above `path`, noting them."""
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir()
                self.made.append(parent)

    def __enter__(self) -> "Staged":
        return self

    def folder(self, final: str | Path) -> Path:
        """A new empty folder to fill; it replaces `final` (and all it held) on success."""
        final = Path(final)
        self.parents(final)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
        tmp.chmod(final.stat().st_mode & 0o7777 if final.exists() else 0o777 & ~umask())  # not mkdtemp's 0700
        self.folders.append((tmp, final))
        return tmp

    def text(self, path: str | Path, text: str) -> None:
        """Write `text` to `path` on success."""
        self.file(path, text.encode("utf-8"))

    def file(self, path: str | Path, data: bytes) -> None:
        """Write `data` to `path` on success."""
        path = Path(path)
        self.parents(path)
        self.files.append((temp_beside(path, data), path))

    def __exit__(self, error, *_) -> None:
        if error is not None:
            for tmp, _ in self.files:
                tmp.unlink(missing_ok=True)
            for tmp, _ in self.folders:
                shutil.rmtree(tmp, ignore_errors=True)
            for folder in reversed(self.made):
                shutil.rmtree(folder, ignore_errors=True)
            return
        for tmp, final in self.folders:
            old = final.with_name(f".{final.name}.old") if final.exists() else None
            if old:
                shutil.rmtree(old, ignore_errors=True)
                os.replace(final, old)
            os.replace(tmp, final)
            if old:
                shutil.rmtree(old)
        for tmp, final in self.files:
            os.replace(tmp, final)
