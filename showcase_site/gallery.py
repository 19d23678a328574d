"""docs/gallery/: a page per example run `examples.py` made, an index with a card per run, and the home page's pitch.

A page shows what the example project's own `make report` wrote: the `display` block of its metrics.json (every
number and phrase already formatted by the project: headline, model, baselines, per-topic scores, hardware), its
figures and its built write-up. The one thing added here is what no single project knows: a model whose report has
no bag-of-n-grams row of its own is compared with the bow example trained on the same data, when that example earned a
place as a baseline (dl_portfolio.baseline), formatted with the projects' own `formats.fmt_pct`.
"""

import json
import shutil
from pathlib import Path

from dl_portfolio import baseline, formats

from showcase_site.common import (
    CARDS,
    GENERATED,
    WIDE,
    ShowcaseError,
    cell,
    esc,
    read_metrics,
    sample_admonition,
    thumbnail,
    write,
)

FIGURES = {
    "confusion_matrix": "Confusion matrix on the test set (rows: true topic, columns: predicted)",
    "learning_curves": "Loss and macro-F1 per epoch; the dashed line marks the kept checkpoint",
    "per_class_f1": "F1 per topic",
    "reliability": "Accuracy against mean confidence per bin; the diagonal is perfect calibration",
}
HEADLINE = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("weighted_f1", "weighted-F1"))
EMPTY_INDEX = (
    "No examples have been built here yet. From the kit's folder, run\n\n"
    "```bash\nmake showcase              # bake, train and report the examples on the bundled sample data\n"
    "make showcase DATA=~/data  # ... and on your folder of train/validation/test.csv as well\n```\n\n"
    "It bakes example projects from the template (the default transformer model and the bag-of-n-grams "
    "variant), trains them on CPU, runs their `make report`, and this page shows what they measured.\n"
)


def load_examples(examples: Path) -> tuple[dict | None, list[dict]]:
    """The manifest of `examples.py` and one entry per (example, run) with its metrics.json read; (None, []) if none."""
    path = examples / "showcase.json"
    if not path.is_file():
        return None, []
    manifest = json.loads(path.read_text(encoding="utf-8"))
    entries = []
    for ex in manifest["examples"]:
        for run in ex["runs"]:
            m = read_metrics(examples / run["metrics"])
            for rel in m["figures"].values():
                if not (examples / run["metrics"]).parent.joinpath(rel).is_file():
                    raise ShowcaseError(f"{examples / run['metrics']} names a figure that is missing: {rel}")
            page = f"{ex['id']}-{run['run']}"
            entries.append({"example": ex, "run": run, "metrics": m, "page": page, "dir": examples})
    return manifest, entries


def row_of(display: dict, kind: str) -> dict | None:
    """The row of the report's comparison table of that kind ('model', 'bow', 'majority', ...), None if it has none."""
    return next((row for row in display["comparison"] if row.get("kind") == kind), None)


def same_data(a: dict, b: dict) -> bool:
    """Whether two reports' `dataset` blocks are the same splits: by their files' checksums where both have them."""
    if a.get("fingerprint") and b.get("fingerprint"):
        return a["fingerprint"] == b["fingerprint"]
    return a["name"] == b["name"] and a["splits"] == b["splits"]


def bow_example(entry: dict, entries: list[dict]) -> dict | None:
    """The bow example on the same data, for a run whose own report has no bag-of-n-grams baseline to compare with;
    only one that earned a place as a baseline (trained as its preset says, better than the majority class)."""
    m = entry["metrics"]
    if m["model"]["encoder"] == "bow" or row_of(m["display"], "bow"):
        return None
    for other in entries:
        o = other["metrics"]
        if other is not entry and baseline.earned_alone(o) and same_data(o["dataset"], m["dataset"]):
            return other
    return None


def with_ci(values: dict, key: str) -> str:
    """A formatted value and, when the report gives one, its 95% interval beside it: '89.8% (85.8–89.0)'."""
    ci = values.get(f"{key}_ci")
    return f"{values[key]} ({ci})" if ci else values[key]


def comparison_rows(entry: dict, entries: list[dict]) -> list[str]:
    """The report's comparison rows as given (this model in bold), plus the bow example on the same data if needed."""
    rows = []
    for row in entry["metrics"]["display"]["comparison"]:
        b = "**" if row.get("kind") == "model" else ""
        acc, f1 = cell(with_ci(row, "accuracy")), cell(with_ci(row, "macro_f1"))
        rows.append(f"| {b}{cell(row['model'])}{b} | {b}{acc}{b} | {b}{f1}{b} |")
        bow = bow_example(entry, entries) if row.get("kind") == "model" else None
        if bow:
            o = bow["metrics"]["metrics"]
            link = f"[{cell(bow['example']['title'])}](../{bow['page']}/index.md) example, same data"
            rows.append(f"| {link} | {formats.fmt_pct(o['accuracy'])} | {formats.fmt_pct(o['macro_f1'])} |")
    return rows


def footnotes(m: dict) -> str:
    """The definition of the `[^published]` footnote the report's published rows refer to (citation, split, link)."""
    pub = m.get("published")
    if not pub or not any("[^published]" in row["model"] for row in m["display"]["comparison"]):
        return ""
    return f"\n[^published]: {pub['citation']} ({pub['split']}): <{pub['url']}>\n"


def metric_cards(display: dict) -> str:
    """Accuracy, macro-F1 and weighted-F1 as three cards, each with its 95% interval when the report gives one."""
    cards = []
    for key, name in HEADLINE:
        ci = display.get(f"{key}_ci")
        interval = f'<span class="sc-metric__ci">95% CI {esc(ci)}</span>' if ci else ""
        cards.append(
            f'<div class="sc-metric"><span class="sc-metric__value">{esc(display[key])}</span>'
            f'<span class="sc-metric__name">{name}</span>{interval}</div>\n'
        )
    return f'<div class="sc-metrics">\n{"".join(cards)}</div>\n'


def class_cell(row: dict) -> str:
    """A class as the report named it for people ('Sports & gaming'); its id for a report made before names."""
    return cell(row["name"]) if row.get("name") else f"`{cell(row['label'])}`"


def per_class_table(display: dict) -> str:
    """Precision, recall, F1 and support of each topic, as the report formatted them."""
    rows = "".join(
        f"| {class_cell(c)} | {c['precision']} | {c['recall']} | {c['f1']} | {c['support']} |\n"
        for c in display["per_class"]
    )
    return "| topic | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n" + rows


def figures_section(m: dict) -> str:
    """Every figure of the report with its caption (the files are copied next to the page)."""
    return "\n".join(
        f"![{FIGURES.get(name, name)}](figures/{Path(rel).name})\n\n_{FIGURES.get(name, name)}._\n"
        for name, rel in m["figures"].items()
    )


def run_section(m: dict) -> str:
    """How the run was made: project, data, model, epochs, seed, time, hardware, versions."""
    d, splits = m["display"], m["dataset"]["splits"]
    epochs = (m.get("config") or {}).get("trainer", {}).get("max_epochs")
    return (
        f"- **Project:** {m['project']} ({m['task']})\n"
        f"- **Data:** {d['dataset']}, source `{m['dataset']['source']}`: {formats.fmt_int(splits['train'])} train, "
        f"{formats.fmt_int(splits['validation'])} validation, {d['test_examples']} test examples\n"
        f"- **Model:** {d['model']}\n"
        f"- **Epochs, seed:** {epochs if epochs is not None else 'n/a'}, {d['seed']}\n"
        f"- **Training time:** {d['train_wall']} on {d['hardware']}\n"
        f"- **Versions:** {d['versions']}\n"
    )


def remake_section(entry: dict) -> str:
    """The commands that make the same project and run, and a link to the write-up it built."""
    ex, run = entry["example"], entry["run"]
    slug = run["metrics"].split("/reports/")[0].split("/")[-1]
    text = f"```bash\n{ex['bake']}\ncd {slug}\nmake install\n{run['train']}\nmake docs\n```\n"
    if run.get("writeup") and (entry["dir"] / run["writeup"] / "index.html").is_file():
        text += (
            "\nThe [write-up this project built](writeup/index.html) with `make docs` is the page its author would "
            "publish, exactly as generated (its GitHub links point to the placeholder user name of the default "
            "answers).\n"
        )
    return text


def gallery_entry_page(entry: dict, entries: list[dict]) -> str:
    """One example run: headline, baselines, per-topic scores, figures, how it was trained, how to redo it."""
    m = entry["metrics"]
    d = m["display"]
    sample = sample_admonition(d.get("sample_note")) if m["dataset"]["is_sample"] else ""
    other = bow_example(entry, entries)
    source = f", except the row of the {other['example']['title']} example: that one is from its own" if other else ""
    return (
        f"{WIDE}{GENERATED}# {entry['example']['title']}, on {m['dataset']['name']}\n\n{entry['example']['blurb']}\n\n"
        f"{sample}{metric_cards(d)}\n{d['headline']}\n\n"
        "Scores of the checkpoint with the best validation macro-F1. Every number and description on this page is "
        f"the project's own, read from the `reports/{m['run']}/metrics.json` that its `make report` wrote{source}.\n\n"
        "## Compared with baselines\n\n| model | accuracy | macro-F1 |\n|---|---:|---:|\n"
        + "\n".join(comparison_rows(entry, entries))
        + f"\n{footnotes(m)}\n## Per topic\n\n{per_class_table(d)}\n## Figures\n\n{figures_section(m)}\n"
        f"## The run\n\n{run_section(m)}\n## Make it yourself\n\n{remake_section(entry)}"
    )


def gallery_card(entry: dict) -> str:
    """A gallery card: thumbnail, title, data, headline numbers, link to the example's page."""
    m, page = entry["metrics"], entry["page"]
    d = m["display"]
    sample = m["dataset"]["is_sample"]
    badge = f'<span class="sc-badge sc-badge--sample">{formats.SAMPLE_TITLE}</span>' if sample else ""
    return (
        f'<a class="sc-card" href="{page}/">\n'
        f'<img class="sc-card__thumb" src="{page}/thumb.png" alt="Confusion matrix of {esc(m["project"])}">\n'
        f'<span class="sc-card__body"><span class="sc-card__title">{esc(entry["example"]["title"])}</span>\n'
        f'<span class="sc-card__task">{esc(m["task"])} · {esc(m["dataset"]["name"])}</span>{badge}\n'
        f'<span class="sc-card__metric"><strong>{esc(d["accuracy"])}</strong> accuracy · '
        f"<strong>{esc(d['macro_f1'])}</strong> macro-F1</span></span>\n</a>\n"
    )


def index_row(entry: dict) -> str:
    """An example run's row of the gallery's table."""
    m = entry["metrics"]
    d, majority = m["display"], row_of(m["display"], "majority") or {"macro_f1": "n/a"}
    return (
        f"| [{cell(entry['example']['title'])}]({entry['page']}/index.md) | {cell(m['dataset']['name'])} "
        f"| {d['test_examples']} | {d['accuracy']} | {d['macro_f1']} | {majority['macro_f1']} | {d['train_wall']} |"
    )


def gallery_index(manifest: dict | None, entries: list[dict]) -> str:
    """docs/gallery/index.md: the comparison table and a card per example run (or how to make them)."""
    if not entries:
        return f"{CARDS}{GENERATED}# Gallery\n\n{EMPTY_INDEX}"
    samples = [e["metrics"]["dataset"]["is_sample"] for e in entries]
    sample = sample_admonition(some=not all(samples)) if any(samples) else ""
    return (
        f"{CARDS}{GENERATED}# Gallery\n\n"
        "Example projects baked from the template with the answers shown on their pages, trained on a CPU and reported "
        f"by their own `make report`, by `make showcase` ({manifest['created'][:10]}). Every number below is read from "
        "the metrics.json each project wrote; none is typed by hand.\n\n"
        f"{sample}| example | data | test examples | accuracy | macro-F1 | majority class macro-F1 | training time |\n"
        "|---|---|---:|---:|---:|---:|---:|\n" + "\n".join(index_row(e) for e in entries) + "\n\n"
        f'<div class="sc-grid" markdown="0">\n{"".join(gallery_card(e) for e in entries)}</div>\n'
    )


def write_gallery(examples: Path, docs: Path) -> list[dict]:
    """Rewrite docs/gallery/ from the examples folder; return the entries."""
    manifest, entries = load_examples(examples)
    out = docs / "gallery"
    shutil.rmtree(out, ignore_errors=True)
    for entry in entries:
        page = out / entry["page"]
        report = (examples / entry["run"]["metrics"]).parent
        for name, rel in entry["metrics"]["figures"].items():
            (page / "figures").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(report / rel, page / "figures" / Path(rel).name)
            if name == "confusion_matrix":
                thumbnail(report / rel, page / "thumb.png")
        writeup = examples / entry["run"].get("writeup", "-")
        if (writeup / "index.html").is_file():
            shutil.copytree(writeup, page / "writeup")
        write(page / "index.md", gallery_entry_page(entry, entries))
    write(out / "index.md", gallery_index(manifest, entries))
    return entries


def pitch_of(entry: dict, repo_url: str | None) -> str | None:
    """The pitch block of an example's README with its links moved here, None when its markers are not one pair."""
    m = entry["metrics"]
    readme = entry["dir"] / entry["run"]["metrics"].split("/reports/")[0] / "README.md"
    body = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if body.count("<!-- pitch:start -->") != 1 or body.count("<!-- pitch:end -->") != 1:
        return None
    pitch = body.split("<!-- pitch:start -->")[1].split("<!-- pitch:end -->")[0].strip()
    moved = {m["links"].get("writeup"): f"gallery/{entry['page']}/writeup/index.html", m["links"].get("repo"): repo_url}
    for old, new in moved.items():
        if old and new:
            pitch = pitch.replace(f"]({old})", f"]({new})")
    return pitch


def write_pitch(entries: list[dict], docs: Path, repo_url: str | None) -> None:
    """docs/_snippets/pitch.md: the README pitch block of the first example, as its last `make report` wrote it.

    The example's README links to the placeholder user of the default answers: those two links are pointed at this
    site's copy of its write-up and at the kit's repository (where its code comes from) instead.
    """
    text = "_The pitch block of a real example appears here once `make showcase` has trained the gallery's examples._\n"
    if entries:
        first = entries[0]["example"]["id"]
        entry = [e for e in entries if e["example"]["id"] == first][-1]  # the README follows the newest report
        pitch = pitch_of(entry, repo_url)
        if pitch is not None:
            text = (
                f"The block `make report` wrote into the README of the gallery's "
                f"[{entry['example']['title']}](gallery/{entry['page']}/index.md) example (its links lead to this "
                f"site's copy of the write-up and to the kit's code):\n\n"
                f'<div class="sc-pitch" markdown>\n\n{pitch}\n\n</div>\n'
            )
    write(docs / "_snippets" / "pitch.md", text)
