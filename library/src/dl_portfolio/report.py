"""`report`: the best checkpoint and logs of a run -> `reports/<run>/`, the write-up pages and the README pitch.

reports/<run>/metrics.json          every number the pages show (the only source they are written from)
reports/<run>/figures/*.png|svg     confusion matrix, learning curves, F1 per class
reports/<run>/errors.csv            the most confident test mistakes: text, gold, predicted, confidence
reports/<run>/predictions.csv       every test prediction with its class probabilities
reports/<run>/learning_curves.csv   the merged per-epoch log the curves are drawn from
reports/latest                      -> the newest report
"""

import shutil
from datetime import datetime
from pathlib import Path

from . import evaluation, figures, fingerprint, runs, schema, sweep_report
from .checks import whole
from .errors import ArgumentParser
from .files import Staged, json_text, point_link, write_csv, write_json
from .formats import class_noun, fmt_pct
from .layout import HUB_RECORD, Layout
from .pages import model_card_page, results_page
from .project import prog
from .tables import decode
from .writeup import display_block, pitch_block, results_block, site_info, summary_block, with_blocks

FIGURES = ("confusion_matrix", "learning_curves", "per_class_f1", "reliability")


def wall_seconds(manifest: dict | None) -> float | None:
    """Seconds between the manifest's start and finish (the latest attempt of a resumed run), None if unfinished."""
    if not manifest or not manifest.get("started") or not manifest.get("finished"):
        return None
    start, end = (datetime.fromisoformat(manifest[k]) for k in ("started", "finished"))
    return round((end - start).total_seconds(), 1)


def best_epoch(history: list[dict]) -> int | None:
    """The epoch whose checkpoint was kept: the first with the highest validation macro-F1."""
    scored = [h for h in history if "val/f1_macro" in h]
    return max(scored, key=lambda h: h["val/f1_macro"])["epoch"] if scored else None


def build_metrics(
    *,
    info: dict,
    run_dir: Path,
    config: dict,
    manifest: dict,
    dm,
    data: dict,
    scores: dict,
    majority: dict,
    bow: dict | None,
    epochs: int | None = None,
) -> dict:
    """The metrics.json document (its keys are read by the kit's showcase gallery: keep them); `data` is the
    fingerprint of the splits it scored."""
    manifest = manifest or {}
    model = config.get("model", {})
    bow_keys = ("word_ngrams", "char_ngrams") if model.get("encoder") == "bow" else ()
    return {
        "project": info["project"],
        "run": run_dir.name,
        "task": f"{class_noun(config.get('data'))} classification",  # the data preset's word for its classes
        "dataset": {
            "name": dm.name,
            "source": dm.hparams.source,
            "is_sample": dm.hparams.source == "sample",
            "splits": {s: len(dm.splits[s]) for s in ("train", "validation", "test")},
            "fingerprint": data,
            "warnings": list(dm.warnings),  # what the data cannot support (data.check_splits): shown with the numbers
        },
        "split": "test",
        "seed": manifest.get("seed", config.get("seed_everything")),
        "epochs": epochs,  # trained (a baseline counts only when it trained as many as its preset says)
        "model": {
            "encoder": model.get("encoder"),
            "backbone": model.get("backbone") if model.get("encoder") == "transformer" else None,
            **{k: model.get(k) for k in bow_keys},
        },
        "metrics": {k: scores[k] for k in ("accuracy", "macro_f1", "weighted_f1")},
        "per_class": scores["per_class"],
        "confusion_matrix": {"labels": list(dm.labels), "matrix": scores["matrix"]},
        "baselines": {"majority": majority, "bow": bow},
        "config": config,
        "git": manifest.get("git"),
        "versions": manifest.get("versions"),
        "hardware": manifest.get("hardware"),
        "train_wall_seconds": wall_seconds(manifest),
        "figures": {name: f"figures/{name}.png" for name in FIGURES},
        "links": {"writeup": info["writeup"], "repo": info["repo"]},
    }


def write_tables(folder: Path, labels, test, probs, pred, history: list[dict], top_mistakes: int) -> list[dict]:
    """errors.csv, predictions.csv and learning_curves.csv in `folder`; returns the most confident mistakes."""
    rows = [
        {"text": text, "gold": labels[g], "predicted": labels[p], "confidence": probs[i][p], "probs": probs[i]}
        for i, ((text, g), p) in enumerate(zip(test, pred, strict=True))
    ]
    mistakes = sorted((r for r in rows if r["gold"] != r["predicted"]), key=lambda r: (-r["confidence"], r["text"]))
    mistakes = mistakes[:top_mistakes]
    columns = ["text", "gold", "predicted", "confidence"]
    write_csv(folder / "errors.csv", columns, [[r[c] for c in columns] for r in mistakes])
    header = [*columns, *(f"p({label})" for label in labels)]
    write_csv(folder / "predictions.csv", header, [[r[c] for c in columns] + r["probs"] for r in rows])
    keys = sorted({k for h in history for k in h if k != "epoch"})
    curves = [[h["epoch"], *(h.get(k) for k in keys)] for h in history]
    write_csv(folder / "learning_curves.csv", ["epoch", *keys], curves)
    return mistakes


def stage_docs(stage: Staged, root: Path, report_dir: Path, metrics: dict, mistakes: list[dict]) -> list[str]:
    """Stage the docs pages and figures, the generated blocks of docs/index.md and the README pitch; returns
    warnings for missing markers."""
    docs = Layout(root).docs
    names = [*FIGURES, *(metrics["sweep"]["figures"] if metrics.get("sweep") else ())]
    for name in names:
        for ext in ("png", "svg"):  # the site shows the SVGs; the PNGs are there for slides and the README
            figure = f"{name}.{ext}"
            stage.file(docs / "assets" / "figures" / figure, (report_dir / "figures" / figure).read_bytes())
    stage.text(docs / "assets" / "metrics.json", json_text(metrics))
    sweep_section = sweep_report.section(metrics) if metrics.get("sweep") else ""
    stage.text(docs / "results.md", results_page(metrics, mistakes) + sweep_section)
    stage.text(docs / "model-card.md", model_card_page(metrics))
    targets = [
        (docs / "index.md", {"summary": summary_block(metrics), "results": results_block(metrics)}),
        (root / "README.md", {"pitch": pitch_block(metrics)}),
    ]
    warnings = []
    for path, blocks in targets:
        old = decode(path, other="undo the edit that changed its encoding") if path.is_file() else ""
        text, missing = with_blocks(old, blocks)
        if len(missing) < len(blocks):
            stage.text(path, text)
        for name in missing:
            warnings.append(
                f"{path} has no single `<!-- {name}:start -->` ... `<!-- {name}:end -->` pair, so it was left "
                "unchanged: put the two marker lines back where the generated text should go."
            )
    return warnings


def report(root: Path, runs_dir: Path, run: str | None = None, top_mistakes: int = 50) -> dict:
    """Write the report of `run` (default: the latest) and update the write-up; return metrics.json's content."""
    opened = runs.Run.open(runs_dir, run)
    run_dir, config, manifest, model, dm = opened.folder, opened.config, opened.manifest, opened.model, opened.data
    scored = fingerprint.of_datamodule(dm)  # the data this report scores, hashed once
    fingerprint.check(manifest.get("data"), scored, run_dir.name)
    labels = list(dm.labels)
    test = dm.splits["test"]
    print(f"report: {run_dir.name}: predicting {len(test)} test examples with its best checkpoint")
    reference = config.get("data", {}).get("reference")
    ev = evaluation.evaluate(model, dm, opened.baseline, opened.baseline_model(), reference)
    scores, probs, pred = ev["scores"], ev["probs"], ev["pred"]
    history = opened.history
    info = site_info(root / "mkdocs.yml", root.resolve().name)
    metrics = build_metrics(
        info=info,
        run_dir=run_dir,
        config=config,
        manifest=manifest,
        dm=dm,
        data=scored,
        scores=scores,
        majority=ev["majority"],
        bow=ev["bow"],
        epochs=opened.test_metrics.get("epochs"),
    )
    metrics |= {key: ev[key] for key in ("intervals", "significance", "calibration", "slices", "invariance")}
    metrics |= {"published": ev["published"], "seeds": evaluation.seed_group(manifest.get("group"), opened.seed_group)}
    metrics["display"] = display_block(metrics)

    # All or nothing: the report folder and every page are written aside and put in place together at the end.
    layout = Layout(root, runs_dir)
    out = layout.report(run_dir.name)
    with Staged() as stage:
        build = stage.folder(out)
        hub = layout.hub_record(run_dir.name)
        if hub.is_file():  # push-model's record of where the model went outlives a new report of the same run
            shutil.copy2(hub, build / HUB_RECORD)
        note = "sample data, not real tweets" if metrics["dataset"]["is_sample"] else ""
        figures.confusion_matrix(labels, scores["matrix"], build / "figures" / "confusion_matrix", note)
        figures.learning_curves(history, build / "figures" / "learning_curves", best_epoch(history), note)
        figures.per_class_f1(scores["per_class"], build / "figures" / "per_class_f1", scores["macro_f1"], note)
        figures.reliability(metrics["calibration"], build / "figures" / "reliability", note)
        metrics["sweep"] = sweep_report.summary(run_dir, build / "figures")  # None unless a sweep chose this config

        mistakes = write_tables(build, labels, test, probs, pred, history, top_mistakes)
        write_json(build / "metrics.json", schema.check(metrics))
        warnings = stage_docs(stage, root, build, metrics, mistakes)
    point_link(layout.latest_report, out)

    for warning in warnings:
        print(f"warning: {warning}")
    m = metrics["metrics"]
    print(
        f"report: {out}/\n  accuracy {fmt_pct(m['accuracy'])}, macro-F1 {fmt_pct(m['macro_f1'])}, "
        f"weighted-F1 {fmt_pct(m['weighted_f1'])} on {metrics['dataset']['name']} test\n"
        "  updated docs/ and the README pitch: `make docs` builds the site, `make publish` deploys it"
    )
    return metrics


def main(argv: list[str]) -> None:
    """`report [--run NAME] [--root DIR] [--runs_dir DIR] [--errors N]`."""
    parser = ArgumentParser(prog=prog("report"), description="metrics.json, figures and write-up pages from a run")
    parser.add_argument("--run", default=None, help="run folder name in runs/ (default: runs/latest)")
    parser.add_argument("--root", default=".", help="project folder with docs/, README.md, mkdocs.yml (default: .)")
    parser.add_argument("--runs_dir", "--runs-dir", default=None, help="where the runs are (default: ROOT/runs)")
    parser.add_argument("--errors", type=int, default=50, help="how many confident mistakes errors.csv keeps")
    args = parser.parse_args(argv)
    whole("errors", args.errors, minimum=0, example=50)
    root = Path(args.root)
    report(root, Layout(root, args.runs_dir).runs, args.run, args.errors)
