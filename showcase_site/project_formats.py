"""The generated project's own formats module, loaded from the template by path: the showcase formats nothing itself.

`formats.py` (fmt_pct, fmt_int, SAMPLE_NOTE, ...) imports nothing from its package and has no Jinja in it, so the
file in the template folder runs as it is. Every number the site writes is thus formatted by the very function the
projects' write-ups use, and there is no copy to keep in step.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

KIT = Path(__file__).resolve().parent.parent
PATH = KIT / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}" / "formats.py"


def load(path: Path = PATH) -> ModuleType:
    """The module at `path` (the template's formats.py by default), executed afresh."""
    spec = importlib.util.spec_from_file_location("dl_portfolio_project_formats", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


formats = load()
