"""`push-model`: upload `exports/<run>/` to a Hugging Face Hub model repo and record its URL for the write-up.

The token comes from HF_TOKEN (the environment or .env) only: it is passed to the client for each request and never
written, printed or logged. After a push, `reports/<run>/hub.json` holds `{"repo_id", "url", "commit_url"}`: the
report layer reads `url` to link the model from the README pitch and the write-up.
"""

import contextlib
import importlib
import os
from pathlib import Path

from . import runs
from .errors import ArgumentParser, UserError
from .files import write_json, write_text
from .model_card import REPO_ID
from .model_card import repo_id as default_repo

TOKEN_HELP = "create a token with write access at https://huggingface.co/settings/tokens and put HF_TOKEN=... in .env"


def export_dir(root: Path, runs_dir: Path, run: str | None) -> Path:
    """The export folder of `run` (default: the latest run), or a UserError that says how to make it."""
    name = runs.resolve(runs_dir, run).name
    folder = root / "exports" / name
    if not (folder / "config.json").is_file() or not (folder / "README.md").is_file():
        raise UserError(f"{folder} is not a finished export: run `make export RUN={name}` first.")
    return folder


def push(folder: Path, repo_id: str, token: str, private: bool = False, endpoint: str | None = None) -> dict:
    """Create the repo if needed and upload `folder` in one commit; returns `{"repo_id", "url", "commit_url"}`."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError

    # Plain LFS uploads instead of the Xet protocol (unless HF_HUB_DISABLE_XET says otherwise): a handful of files
    # gains nothing from chunk deduplication, and the LFS requests are the ones the tests check against a fake Hub.
    if os.environ.get("HF_HUB_DISABLE_XET") is None:
        constants.HF_HUB_DISABLE_XET = True
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
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


def network_errors() -> tuple[type[BaseException], ...]:
    """Connection errors of whichever HTTP client this huggingface_hub uses (httpx2, httpx or requests)."""
    found: list[type[BaseException]] = [OSError]  # requests' ConnectionError is one
    for module, name in (("httpx2", "TransportError"), ("httpx", "TransportError")):
        with contextlib.suppress(ImportError, AttributeError):
            found.append(getattr(importlib.import_module(module), name))
    return tuple(found)


def retarget(folder: Path, repo_id: str) -> None:
    """Point the card's loading examples at `repo_id` when the export was made for another repo (HF_REPO changed)."""
    info = runs.read_json(folder / "export.json") or {}
    old = info.get("repo_id")
    if not old or old == repo_id:
        return
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8").replace(f'"{old}"', f'"{repo_id}"')
    text = text.replace(f"- name: {old.split('/')[-1]}\n", f"- name: {repo_id.split('/')[-1]}\n", 1)  # model-index
    write_text(readme, text)
    files = {**info.get("files", {}), "README.md": len(text.encode("utf-8"))}
    write_json(folder / "export.json", {**info, "repo_id": repo_id, "files": files})


def first_line(err: Exception) -> str:
    """The first line of an error message (the Hub's messages can span several)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def main(argv: list[str]) -> None:
    """`push-model [--run NAME] [--repo USER/NAME] [--private]`: token from HF_TOKEN, repo from HF_REPO or --repo."""
    parser = ArgumentParser(prog=f"{__package__} push-model", description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="run whose export to upload (default: runs/latest)")
    parser.add_argument("--repo", default=None, help=f"Hub model repo (default: $HF_REPO or {REPO_ID})")
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--root", default=".", help="project folder (default: .)")
    parser.add_argument("--runs_dir", "--runs-dir", default=None, help="where the runs are (default: ROOT/runs)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    folder = export_dir(root, Path(args.runs_dir) if args.runs_dir else root / "runs", args.run)
    repo_id = args.repo or default_repo()
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"{repo_id!r} is not a Hub repo id: give --repo (or HF_REPO) as USER/NAME.")
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise UserError(f"HF_TOKEN is not set: {TOKEN_HELP}.")
    retarget(folder, repo_id)
    print(f"push-model: uploading {folder}/ to {repo_id}")
    pushed = push(folder, repo_id, token, private=args.private)
    write_json(root / "reports" / folder.name / "hub.json", pushed)
    print(f"push-model: {pushed['url']}\n  recorded in reports/{folder.name}/hub.json for the write-up and README")
