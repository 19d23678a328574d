"""Prune what the chosen options exclude, optionally `git init`, and print the next steps. Never prompts."""

import json
import shutil
import subprocess
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")  # rendered by cookiecutter; valid Python before that
LICENSE, DATASET, PACKAGE = ANSWERS["license"], ANSWERS["dataset"], ANSWERS["package_name"]

# Files that only make sense for some answers: (whether to remove, paths).
PRUNE = [
    (LICENSE == "none", ["LICENSE"]),
    (
        DATASET != "collected_tweets",
        [
            "configs/collect.yaml",
            "configs/data/collected.yaml",
        ],
    ),
]


def prune() -> None:
    """Delete the files of options that were not chosen."""
    for excluded, paths in PRUNE:
        if not excluded:
            continue
        for rel in paths:
            path = Path(rel)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def git_init() -> None:
    """Make the project a git repository with a first commit, so it is ready to push to GitHub."""
    if shutil.which("git") is None:
        print("git is not installed: skipped `git init` (install git, then run it yourself).")
        return
    ident = ["-c", f"user.name={ANSWERS['author_name']}", "-c", f"user.email={ANSWERS['email']}"]
    steps = [
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", *ident, "commit", "-q", "-m", "Initial commit from dl-portfolio"],
    ]
    for cmd in steps:
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            print(f"`{' '.join(cmd[:2])}` failed: the project is generated; run git yourself.")
            return


if __name__ == "__main__":
    prune()
    if ANSWERS["init_git"] == "yes":
        git_init()
    first = "make collect   # needs TWITTER_BEARER_TOKEN in .env\n  " if DATASET == "collected_tweets" else ""
    print(
        f"\nCreated {Path.cwd().name}. Next steps:\n"
        f"  cd {Path.cwd().name}\n"
        "  make install   # virtualenv + dependencies\n"
        f"  {first}make train     # fit + test; TRAINER=gpu on a GPU box\n"
        "  make report    # metrics.json, figures, write-up pages\n"
        "  make docs      # build the site; make publish deploys it to GitHub Pages\n"
        "  make ready     # what still reads as the template (your name, your words), each with its fix\n"
    )
