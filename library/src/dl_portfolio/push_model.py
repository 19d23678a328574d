"""`push-model`: upload `exports/<run>/` to a Hugging Face Hub model repo and record its URL for the write-up.

The token comes from HF_TOKEN (the environment or .env) only: it is passed to the client for each request and never
written, printed or logged. After a push, `reports/<run>/hub.json` holds `{"repo_id", "url", "commit_url"}`: the
report layer reads `url` to link the model from the README pitch and the write-up.

Nothing is written before the Hub took the commit: the repo id is checked first, the card and export.json pointed at
the repo they go to are uploaded from memory, and only once the push succeeded are they and hub.json written, together
(files.Staged). A refused or failed push leaves the export and the reports as they were.
"""

import contextlib
import importlib
import os
from pathlib import Path

from . import runs
from .errors import ArgumentParser, UserError
from .files import Staged, json_text
from .layout import Layout
from .model_card import repo_id as default_repo
from .project import prog

TOKEN_HELP = "create a token with write access at https://huggingface.co/settings/tokens and put HF_TOKEN=... in .env"


def export_dir(root: Path, runs_dir: Path, run: str | None) -> Path:
    """The export folder of `run` (default: the latest run), or a UserError that says how to make it."""
    name = runs.resolve(runs_dir, run).name
    folder = Layout(root).export(name)
    if not (folder / "config.json").is_file() or not (folder / "README.md").is_file():
        raise UserError(f"{folder} is not a finished export: run `make export RUN={name}` first.")
    return folder


REPO_RULES = (
    "give --repo (or HF_REPO) as USER/NAME: letters, digits, '-', '_' and '.', no '--' or '..', neither part "
    "starting or ending with '-' or '.', at most 96 characters"
)


def check_repo_id(repo_id: str) -> None:
    """A UserError unless `repo_id` is a USER/NAME the Hub accepts (huggingface_hub's own rules)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
        valid = repo_id.count("/") == 1 and all(repo_id.split("/"))
    except HFValidationError:
        valid = False
    if not valid:
        raise UserError(f"{repo_id!r} is not a Hub repo id: {REPO_RULES}.")


def push(
    folder: Path,
    repo_id: str,
    token: str,
    private: bool = False,
    endpoint: str | None = None,
    replaced: dict[str, bytes] | None = None,
) -> dict:
    """Create the repo if needed and upload `folder` in one commit, files named in `replaced` with that content
    instead; returns `{"repo_id", "url", "commit_url"}`."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # per-file upload bars: the push prints its one line of result, not pages of bars

    # Plain LFS uploads instead of the Xet protocol (unless HF_HUB_DISABLE_XET says otherwise): a handful of files
    # gains nothing from chunk deduplication, and the LFS requests are the ones the tests check against a fake Hub.
    if os.environ.get("HF_HUB_DISABLE_XET") is None:
        constants.HF_HUB_DISABLE_XET = True
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.create_commit(
            repo_id=repo_id,
            operations=commit_operations(folder, replaced or {}),
            repo_type="model",
            commit_message=f"Upload {folder.name} (make push-model)",
        )
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status in (401, 403):
            raise UserError(
                f"the Hugging Face Hub rejected HF_TOKEN ({status}) for {repo_id}: {TOKEN_HELP}, or set HF_REPO to "
                "a namespace the token can write to."
            ) from None
        raise UserError(f"the Hugging Face Hub refused the upload to {repo_id} ({status}): {first_line(err)}") from None
    except network_errors() as err:
        raise UserError(
            f"could not reach the Hugging Face Hub at {endpoint} ({type(err).__name__}): check your network and run "
            "`make push-model` again."
        ) from None
    return {"repo_id": repo_id, "url": f"{endpoint}/{repo_id}", "commit_url": commit.commit_url}


def commit_operations(folder: Path, replaced: dict[str, bytes]) -> list:
    """What upload_folder would send for `folder`, a file named in `replaced` with that content instead; dot names
    (the temp file of an interrupted write) are left out."""
    from huggingface_hub import CommitOperationAdd

    operations = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder)
        if not any(part.startswith(".") for part in name.parts):
            operations.append(CommitOperationAdd(name.as_posix(), replaced.get(name.as_posix(), path)))
    return operations


def network_errors() -> tuple[type[BaseException], ...]:
    """Connection errors of whichever HTTP client this huggingface_hub uses (httpx2, httpx or requests)."""
    found: list[type[BaseException]] = [OSError]  # requests' ConnectionError is one
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError")):
        with contextlib.suppress(ImportError, AttributeError):
            found.append(getattr(importlib.import_module(module), name))
    return tuple(found)


def retargeted(folder: Path, repo_id: str) -> dict[str, bytes]:
    """The card and export.json with the card's loading examples pointed at `repo_id`, when the export was made for
    another repo (HF_REPO changed): `{"README.md": ..., "export.json": ...}`, or {} when nothing changes."""
    info = runs.read_json(folder / "export.json") or {}
    old = info.get("repo_id")
    if not old or old == repo_id:
        return {}
    text = (folder / "README.md").read_text(encoding="utf-8").replace(f'"{old}"', f'"{repo_id}"')
    text = text.replace(f"- name: {old.split('/')[-1]}\n", f"- name: {repo_id.split('/')[-1]}\n", 1)  # model-index
    card = text.encode("utf-8")
    info = {**info, "repo_id": repo_id, "files": {**info.get("files", {}), "README.md": len(card)}}
    return {"README.md": card, "export.json": json_text(info).encode("utf-8")}


def first_line(err: Exception) -> str:
    """The first line of the Hub's own words when it sent some, else of the error (the messages can span several)."""
    text = getattr(err, "server_message", None) or str(err)
    return (text.strip().splitlines() or [type(err).__name__])[0]


def main(argv: list[str]) -> None:
    """`push-model [--run NAME] [--repo USER/NAME] [--private]`: token from HF_TOKEN, repo from HF_REPO or --repo."""
    parser = ArgumentParser(prog=prog("push-model"), description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="run whose export to upload (default: runs/latest)")
    parser.add_argument("--repo", default=None, help="Hub repo (default: $HF_REPO, else hub_repo in pyproject.toml)")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--root", default=".", help="project folder (default: .)")
    parser.add_argument("--runs_dir", "--runs-dir", default=None, help="where the runs are (default: ROOT/runs)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    repo_id = args.repo or default_repo(root)
    check_repo_id(repo_id)
    folder = export_dir(root, Layout(root, args.runs_dir).runs, args.run)
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise UserError(f"HF_TOKEN is not set: {TOKEN_HELP}.")
    replaced = retargeted(folder, repo_id)
    print(f"push-model: uploading {folder}/ to {repo_id}")
    pushed = push(folder, repo_id, token, private=args.private, replaced=replaced)
    with Staged() as stage:  # only now: the Hub holds the commit
        for name, data in replaced.items():
            stage.file(folder / name, data)
        stage.text(Layout(root).hub_record(folder.name), json_text(pushed))
    print(f"push-model: {pushed['url']}\n  recorded in reports/{folder.name}/hub.json for the write-up and README")
