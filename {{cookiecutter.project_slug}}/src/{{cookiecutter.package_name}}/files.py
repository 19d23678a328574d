"""Atomic writes: a reader (or a crash) never sees a half-written file."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path


def usual_mode(path: Path) -> int:
    """The mode a rewrite of `path` should have: the one it has, or a new file's usual mode under the umask.

    mkstemp makes its file 0600: renamed over a README, docs page or report, that would lock out everyone else.
    """
    if path.exists():
        return path.stat().st_mode & 0o7777
    mask = os.umask(0o022)  # reading the umask means setting it: set it straight back
    os.umask(mask)
    return 0o666 & ~mask


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, usual_mode(path))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data) -> None:
    """Atomically write `data` as indented JSON."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


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
