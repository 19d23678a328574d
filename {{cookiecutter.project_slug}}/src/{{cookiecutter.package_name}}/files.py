"""Atomic writes: a reader (or a crash) never sees a half-written file."""

import json
import os
import tempfile
from pathlib import Path


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
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


def point_link(link: str | Path, target: str | Path) -> None:
    """Make `link` a symlink to `target` (relative), replacing an older link atomically."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)
