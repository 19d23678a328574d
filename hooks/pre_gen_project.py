"""Validate the answers before anything is generated: one clear line per mistake, exit 1, no folder left behind.

Cookiecutter renders this file with the answers, then runs it inside the new folder and deletes that folder when the
script exits non-zero. It never prompts, so `--no-input` always works.
"""

import json
import keyword
import re
import sys

# Rendered by cookiecutter; tojson inside a raw string keeps this file valid Python before rendering (ruff lints it)
# and escapes every quote an answer may contain.
RENDERED = r"""{{ cookiecutter | tojson }}"""
ANSWERS = {} if RENDERED.startswith("{" * 2) else json.loads(RENDERED)  # unrendered: imported by the kit's tests

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
# GitHub: 1-39 characters, letters, digits and single hyphens, not starting or ending with a hyphen.
GITHUB_USER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


def derived_package(slug: str, reserved: set[str]) -> str:
    """The package_name cookiecutter.json derives from a slug (the same Jinja, in Python): always a valid name."""
    pkg = slug.replace("-", "_").replace(".", "_")
    pkg = f"project_{pkg}" if pkg[:1].isdigit() else pkg
    return f"{pkg}_classifier" if pkg in reserved else pkg


def package_problems(pkg: str, reserved: set[str]) -> list[str]:
    """What is wrong with a package name, if anything (`reserved`: cookiecutter.json's `_reserved_package_names`).

    Reserved: Python keywords, standard-library modules and what the project imports or installs (a package of that
    name would shadow it). cookiecutter.json keeps the list, so the package_name it derives never lands here.
    """
    if not PACKAGE.match(pkg):
        return [
            f"package_name {pkg!r} is not a valid Python package name: use lowercase letters, digits and '_', "
            "not starting with a digit, e.g. package_name='tweet_topic'."
        ]
    if keyword.iskeyword(pkg) or keyword.issoftkeyword(pkg):
        return [f"package_name {pkg!r} is a Python keyword: pick another name, e.g. '{pkg}_model'."]
    if pkg in sys.stdlib_module_names or pkg in reserved:
        return [
            f"package_name {pkg!r} would shadow the module {pkg!r} the project needs: pick another name, "
            f"e.g. '{pkg}_classifier'."
        ]
    return []


def problems(a: dict[str, str]) -> list[str]:
    """Return one message per bad answer, each saying what is wrong and how to fix it."""
    out = []
    if not a["project_name"].strip():
        out.append("project_name is empty: give your project a name, e.g. project_name='Tweet Topic Classifier'.")
    for key in ("project_name", "description", "author_name"):
        bad = sorted(set(a[key]) & set('"\\{}') | {c for c in a[key] if ord(c) < 32})
        if bad:
            out.append(f"{key} contains {''.join(bad)!r}: these characters break the generated TOML/YAML; remove them.")
    slug, pkg = a["project_slug"], a["package_name"]
    slug_ok = bool(SLUG.match(slug)) and not slug.endswith((".", "-"))
    if not slug_ok:
        out.append(
            f"project_slug {slug!r} is not a valid folder/repository name: use lowercase letters, digits, '-', '_' "
            "or '.', starting with a letter or digit, e.g. project_slug='tweet-topic-classifier'."
        )
    # A bad slug also spoils the names derived from it: report that one mistake once.
    reserved = set(a.get("_reserved_package_names", []))
    if slug_ok or pkg != derived_package(slug, reserved):
        out += package_problems(pkg, reserved)
    if not EMAIL.match(a["email"]):
        out.append(f"email {a['email']!r} is not an email address: use the form name@example.com.")
    if not GITHUB_USER.match(a["github_username"]):
        out.append(
            f"github_username {a['github_username']!r} is not a valid GitHub user name: 1-39 letters, digits or "
            "single hyphens, not starting or ending with a hyphen."
        )
    if (slug_ok or a["wandb_project"] != slug) and not re.match(r"^[A-Za-z0-9._-]{1,128}$", a["wandb_project"]):
        out.append(
            f"wandb_project {a['wandb_project']!r} is not a valid W&B project name: use letters, digits, '-', "
            "'_' or '.'."
        )
    return out


if __name__ == "__main__":
    found = problems(ANSWERS)
    for line in found:
        print(f"dl-portfolio: {line}", file=sys.stderr)
    sys.exit(1 if found else 0)
