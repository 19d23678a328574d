"""`make install` with uv (real uv from PyPI) and with pip, and the torch builds uv is told to take from PyTorch."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from .conftest import BIN, KIT

UV = BIN / "uv"
pytestmark = pytest.mark.skipif(not UV.exists(), reason="uv is not installed in the kit's venv")


def make_install(project: Path, path: str, *args: str, dry_run: bool = False) -> subprocess.CompletedProcess:
    """`make install` in a baked project with only the given folders on PATH."""
    cmd = ["make", "--no-print-directory", *(["-n"] if dry_run else []), "install", *args]
    env = {**os.environ, "PATH": path}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def project(bake) -> Path:
    return bake(dataset="sample", model="bow", tracking="none")


def test_make_install_uses_uv_when_it_is_on_path_and_says_so(project, tmp_path):
    venv = tmp_path / "venv"
    # --no-deps: the project and its dev group for real, without pulling torch and its stack again.
    out = make_install(project, f"{BIN}:/usr/bin:/bin", f"VENV={venv}", "INSTALL_ARGS=--no-deps")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.splitlines()[0] == f"make install: installing with uv ({UV})"
    assert f'{UV} pip install --python {venv}/bin/python -e "." --group dev --no-deps' in out.stdout
    located = subprocess.run(
        [venv / "bin" / "python", "-c", "import tweet_topic_classifier as p; print(p.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert located.stdout.strip() == str(project / "src" / "tweet_topic_classifier" / "__init__.py")  # editable
    group = tomllib.loads((project / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    names = sorted(re.split(r"[\s<>=~!;\[]", r)[0] for r in group)
    assert {"pytest", "ruff", "pre-commit", "nbstripout"} <= set(names)
    check = "import importlib.metadata as m, sys; print(all(m.version(n) for n in sys.argv[1:]))"
    installed = subprocess.run([venv / "bin" / "python", "-c", check, *names], capture_output=True, text=True)
    assert installed.stdout.strip() == "True", installed.stderr[-2000:]  # the whole dev group, by uv


def test_make_install_falls_back_to_pip_without_uv(project, tmp_path):
    bare = tmp_path / "bin"  # make, the shell and python3, but no uv
    bare.mkdir()
    for tool in ("make", "sh", "python3"):
        (bare / tool).symlink_to(shutil.which(tool))
    out = make_install(project, str(bare), f"VENV={tmp_path / 'venv'}", "TORCH=cpu", dry_run=True)
    assert out.returncode == 0, out.stderr
    python = tmp_path / "venv" / "bin" / "python"
    assert out.stdout.splitlines()[:5] == [
        'echo "make install: installing with pip (uv is not on PATH)"',
        f"test -x {python} || python3 -m venv {tmp_path / 'venv'}",
        f'{python} -m pip install -q "pip>=25.1"  # dependency groups (--group) need pip 25.1',
        f"{python} -m pip install torch --index-url https://download.pytorch.org/whl/cpu ",
        f"{python} -m pip install -e . --group dev ",
    ]


@pytest.mark.parametrize("build", ["cpu", "cu130"])
def test_uv_takes_each_torch_build_from_its_pytorch_index(project, tmp_path, build):
    """uv reads the pyproject's [tool.uv.sources] and [[tool.uv.index]]: the extra sends torch to its own index.

    Without network access to download.pytorch.org the resolution stops there and says which URL it asked; with it,
    it resolves a `+cpu` / `+cu130` torch. Either way no other index is asked for torch (the index is explicit).
    The library's pin (a tag of the kit on GitHub) is overridden by this checkout's library/: no network for it."""
    subprocess.run([UV, "venv", "-q", "--python", BIN / "python", tmp_path / "venv"], check=True, capture_output=True)
    override = tmp_path / "overrides.txt"
    override.write_text(f"dl-portfolio[train,serve] @ file://{KIT / 'library'}\n")
    venv_python = tmp_path / "venv" / "bin" / "python"
    cmd = [UV, "pip", "install", "--dry-run", "--python", venv_python, "--override", override, "-e", f".[{build}]"]
    env = {**os.environ, "UV_HTTP_RETRIES": "0"}  # offline, a refused connection is the answer: no backoff
    out = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=300, env=env)
    text = out.stdout + out.stderr
    if out.returncode == 0:
        assert re.search(rf"\+ torch==[\d.]+\+{build}\b", text), text[-3000:]
    else:
        assert f"https://download.pytorch.org/whl/{build}/torch/" in text, text[-3000:]
