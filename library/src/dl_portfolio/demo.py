"""`demo`: put the "Try it" page's model and JavaScript library into docs/ before `mkdocs build` (`make docs` runs it).

docs/assets/demo/demo.json   where the page finds the model (served with the site, or the Hub repo) and its labels
docs/assets/demo/model/      config.json, tokenizer files and the int8 ONNX of exports/<run>/, when GitHub Pages can
                             serve the file (under 100 MB); commit it with docs/ so the published site has it
docs/assets/demo/vendor/     onnxruntime-web (its WebAssembly build) and @huggingface/tokenizers, copied from
                             node_modules/ (`npm ci`, run here when Node.js is installed and node_modules/ is stale;
                             versions pinned by package-lock.json); git-ignored, the docs workflow installs it too

Only the standard library and the project's light modules: the docs workflow runs it without torch.
With no export yet, or no node_modules/, it says so and leaves what docs/ already has: the page explains itself.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import runs
from .errors import UserError
from .files import Staged, write_json
from .formats import class_noun, label_name, model_name
from .layout import Layout
from .model_card import repo_id as default_repo
from .project import prog

MODEL_FILE = "onnx/model_quantized.onnx"  # int8: ~4x smaller than fp32; export.json records how often it agrees
# GitHub refuses files over 100 MiB (git and Pages alike): a bigger model loads from its Hub repo instead.
SITE_LIMIT = 100 * 2**20
# npm package -> files the page needs. The plain WebAssembly build of onnxruntime-web (no WebGPU/WebGL code): it runs
# everywhere WebAssembly does. The threaded build's .wasm also runs on one thread, which is what GitHub Pages allows.
VENDOR = {
    "onnxruntime-web": ["dist/ort.wasm.min.mjs", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm"],
    "@huggingface/tokenizers": ["dist/tokenizers.min.mjs"],
}
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json"]


def demo_dir(docs: Path) -> Path:
    """docs/assets/demo/."""
    return Path(docs) / "assets" / "demo"


def copy_vendor(node_modules: Path, target: Path) -> list[str]:
    """Copy the library files (and each package's LICENSE) from node_modules/ into `target`; returns their names."""
    wanted = [f"{pkg}/{rel}" for pkg, files in VENDOR.items() for rel in files]
    missing = [rel for rel in wanted if not (node_modules / rel).is_file()]
    if missing:
        raise UserError(f"{node_modules}/ lacks {', '.join(missing)}: run `npm ci` (package.json pins the versions).")
    with Staged() as stage:  # a failed copy leaves the old folder as it was
        tmp = stage.folder(target)
        for pkg, files in VENDOR.items():
            for rel in files:
                shutil.copyfile(node_modules / pkg / rel, tmp / Path(rel).name)
            meta = json.loads((node_modules / pkg / "package.json").read_text(encoding="utf-8"))
            notice = tmp / f"LICENSE.{pkg.replace('/', '-').lstrip('@')}-{meta['version']}.txt"
            licence = node_modules / pkg / "LICENSE"
            if licence.is_file():
                shutil.copyfile(licence, notice)
            else:  # onnxruntime-web ships no LICENSE file: name its licence and where its text is
                notice.write_text(f"{pkg} {meta['version']}: {meta.get('license')} licence, {meta.get('homepage')}\n")
    return sorted(p.name for p in target.iterdir())


def find_export(root: Path, run: str | None) -> Path | None:
    """exports/<run>/ of `run` (default: the latest run); None when there is no run or no export of the latest."""
    layout = Layout(root)
    if run is None and not layout.latest_run.exists():
        return None
    folder = layout.export(runs.resolve(layout.runs, run).name)
    if (folder / "config.json").is_file() and (folder / MODEL_FILE).is_file():
        return folder
    if run is not None:
        raise UserError(f"{folder}/ has no exported model: run `make export RUN={run}` first.")
    return None


def hub_repo(root: Path, run: str) -> str:
    """The Hub repo of the run: the one `make push-model` recorded, else HF_REPO, else `<github user>/<slug>`."""
    pushed = runs.read_json(Layout(root).hub_record(run)) or {}
    return pushed.get("repo_id") or default_repo(root)


def place_model(export: Path, target: Path, root: Path, limit: int = SITE_LIMIT) -> dict:
    """Copy the export's int8 model into `target` when the site can serve it, else point at the Hub; demo.json."""
    config = json.loads((export / "config.json").read_text(encoding="utf-8"))
    block = config["dl_portfolio"]
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    size = (export / MODEL_FILE).stat().st_size
    info = {"run": export.name, "encoder": block["encoder"], "labels": labels, "file": MODEL_FILE, "bytes": size}
    # What the page shows a person: readable class names (the ids stay the API's) and what one class is called.
    metrics = runs.read_json(Layout(root).report(export.name) / "metrics.json") or {}
    info |= {"names": [label_name(x) for x in labels], "noun": class_noun(metrics.get("config", {}).get("data"))}
    what = f"run {export.name}, {model_name(block)}, int8 ONNX ({size / 1e6:.1f} MB)"
    if size <= limit:
        with Staged() as stage:
            tmp = stage.folder(target)
            for name in ["config.json", MODEL_FILE] + ([] if block["encoder"] == "bow" else TOKENIZER_FILES):
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(export / name, tmp / name)
        info |= {"source": "site", "base": f"{target.name}/", "source_note": f"Model: {what}, served with this site."}
    else:
        repo = hub_repo(root, export.name)
        shutil.rmtree(target, ignore_errors=True)  # a stale smaller model must not shadow the Hub one
        info |= {
            "source": "hub",
            "base": f"https://huggingface.co/{repo}/resolve/main/",
            "hub_url": f"https://huggingface.co/{repo}",
            "source_note": f"Model: {what}, loaded from the Hugging Face Hub (https://huggingface.co/{repo}).",
        }
    return info


def npm_ci(root: Path) -> str | None:
    """`npm ci` in `root` when node_modules/ is missing or older than package-lock.json and npm is on PATH."""
    lock, stamp = root / "package-lock.json", root / "node_modules" / ".package-lock.json"
    if not lock.is_file() or (stamp.is_file() and stamp.stat().st_mtime >= lock.stat().st_mtime):
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH: install Node.js 20+ for the Try it page's library (the site builds without it)"
    done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=root, capture_output=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines() or ["no output"]
        raise UserError(f"`npm ci` failed ({last[-1]}): check your network and package-lock.json, then `make docs`.")
    return "npm ci: installed the packages package-lock.json pins into node_modules/"


def build(root: Path, docs: Path, node_modules: Path, run: str | None = None, limit: int = SITE_LIMIT) -> list[str]:
    """Place the model and the library for the Try it page; returns what it did, one line each.

    The library is only copied (and, for ROOT/node_modules, installed with `npm ci`) when the page has a model to run.
    """
    folder = demo_dir(docs)
    export = find_export(root, run)  # first: a run asked for without an export changes nothing
    folder.mkdir(parents=True, exist_ok=True)
    notes = []
    if export is not None:
        info = place_model(export, folder / "model", root, limit)
        write_json(folder / "demo.json", info)
        notes.append(f"model: {info['source_note'][len('Model: ') :]}")
        if info["source"] == "hub":
            limit_mib = f"{limit / 2**20:.0f} MiB"
            notes.append(f"  over GitHub's {limit_mib} a file: `make push-model` puts it at {info['hub_url']}")
    else:
        if not (folder / "demo.json").is_file():
            write_json(folder / "demo.json", {"file": None, "message": EMPTY})
        notes.append("model: no export of the latest run yet (`make export`): the page keeps what docs/ has")
    if not (runs.read_json(folder / "demo.json") or {}).get("file"):
        notes.append("library: not needed until the page has a model to run")
        return notes
    if Path(node_modules).resolve() == (root / "node_modules").resolve():
        notes += [line for line in [npm_ci(root)] if line]
    if (node_modules / "onnxruntime-web").is_dir():
        files = copy_vendor(node_modules, folder / "vendor")
        notes.append(f"library: {len(files)} files from {node_modules}/ in {folder / 'vendor'}/")
    elif (folder / "vendor").is_dir():
        notes.append(f"library: kept {folder / 'vendor'}/ ({node_modules}/ is missing)")
    else:
        notes.append(f"library: {node_modules}/ is missing, so the Try it page cannot run: install Node.js, `npm ci`")
    return notes


EMPTY = "No model on this site yet: run `make export`, then `make docs`, and this box classifies what you type."


def main(argv: list[str]) -> None:
    """`demo [--run NAME] [--docs DIR] [--node-modules DIR]`: prints one line per thing placed."""
    parser = argparse.ArgumentParser(prog=prog("demo"), description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="run whose export the page runs (default: runs/latest)")
    parser.add_argument("--root", default=".", help="project folder (runs/, exports/, reports/; default: .)")
    parser.add_argument("--docs", default=None, help="docs folder (default: ROOT/docs)")
    parser.add_argument("--node-modules", "--node_modules", help="npm packages (default: ROOT/node_modules)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    node_modules = Path(args.node_modules) if args.node_modules else root / "node_modules"
    for line in build(root, Path(args.docs) if args.docs else root / "docs", node_modules, args.run):
        print(f"demo: {line}")


if __name__ == "__main__":  # `python -m <package>.demo`: the docs workflow has mkdocs, not the whole project
    try:
        main(sys.argv[1:])
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
