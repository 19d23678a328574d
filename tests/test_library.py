"""The library reaches a project the way a real user gets it: the baked project pins the kit's tag, and that very
reference installs the library from a tagged clone of the kit (a local one: no network but the package index)."""

import re
import subprocess
import sys
import tomllib

from .conftest import KIT


def test_a_baked_project_installs_the_library_from_a_tagged_clone_of_the_kit(bake, tmp_path):
    version = tomllib.loads((KIT / "library" / "pyproject.toml").read_text())["project"]["version"]
    clone = tmp_path / "dl-portfolio"
    subprocess.run(["git", "clone", "-q", str(KIT), str(clone)], check=True)  # the kit as committed
    subprocess.run(["git", "-C", str(clone), "tag", f"v{version}"], check=True)
    project = bake(project_name="Pinned Project", dataset="sample")
    (pin,) = [d for d in tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
              if d.startswith("dl-portfolio")]  # fmt: skip
    assert pin.endswith(f"@ git+https://github.com/org/dl-portfolio@v{version}#subdirectory=library")
    # The same reference, with the kit's address swapped for the clone; the extras (the training stack) left out.
    local = re.sub(r"\[.*?\]", "", pin).replace("https://github.com/org/dl-portfolio", f"file://{clone}")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # As `make install` does first: an older pip (Python 3.11's bundled 23.2) cannot read a `name @ git+file:` line.
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "-q", "pip>=25.1"], check=True, timeout=300)
    out = subprocess.run([venv / "bin" / "pip", "install", "-q", local], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    show = "import dl_portfolio as d; print(d.__version__); print(d.__file__)"
    found = subprocess.run([venv / "bin" / "python", "-c", show], capture_output=True, text=True, cwd=tmp_path)
    assert found.stdout.splitlines()[0] == version
    assert found.stdout.splitlines()[1].startswith(str(venv))  # installed from the tag, not the kit's checkout
    usage = subprocess.run(
        [venv / "bin" / "python", "-m", "pinned_project", "--help"],
        capture_output=True, text=True, cwd=project, env={"PYTHONPATH": str(project / "src"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert usage.returncode == 0 and usage.stderr.startswith("usage: pinned_project COMMAND [options]")
