"""Shared helpers for the kit's tests: bake the template and run things inside a baked project."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The Try it page's npm packages, installed once by `make npm` (`make test` runs it): baked projects' `make docs` and
# their tests/test_demo.py use them rather than running `npm ci` (the network) in every project.
# `make test` runs these tests: the `make` they run in a baked project must not think it is nested (make[1]: lines).
for name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
    os.environ.pop(name, None)
os.environ.setdefault("NODE_MODULES", str(KIT / "build" / "npm" / "node_modules"))


def files_of(project: Path) -> set[str]:
    """Every file of a baked project, as paths relative to it (git metadata excluded)."""
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}


def run_in(project: Path, *cmd: str, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command inside a baked project with its package importable (as `make install` would make it)."""
    full_env = {**os.environ, "PYTHONPATH": str(project / "src"), "WANDB_MODE": "offline", **(env or {})}
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture
def bake(cookies):
    """Bake with answers (git init off unless asked) and return the project path; fails loudly on errors."""

    def _bake(**answers) -> Path:
        result = cookies.bake(extra_context={"init_git": "no", **answers})
        assert result.exit_code == 0, result.exception
        return Path(result.project_path)

    return _bake
