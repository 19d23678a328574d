"""The portfolio: one card per project of a showcase.yml, as a page of the showcase site or as a stand-alone site.

A project made with the kit is read from its metrics.json: its card shows the strings the project's `make report`
put in the `display` block. A project kept elsewhere gives its card's content directly; a hand-entered fraction is
formatted by the projects' own `formats.fmt_pct`, so every card writes numbers the same way.
"""

import json
import re
import shutil
from pathlib import Path

import yaml
from dl_portfolio import formats

from showcase_site.common import (
    CARDS,
    GENERATED,
    SITE,
    ShowcaseError,
    esc,
    read_metrics,
    sample_admonition,
    thumbnail,
    write,
)

KEYS = {"metrics", "title", "task", "summary", "metric", "headline", "figure", "image", "links"}
HEADLINES = {"accuracy": "accuracy", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1"}
PORTFOLIO_MKDOCS = """# Made by dl-portfolio's showcase_site/build.py from {source}: rebuild rather than edit.
site_name: {title}
{site_url}theme:
  name: material
  font: false  # system fonts: no third-party requests
  features: [navigation.top]
  palette:
    - media: "(prefers-color-scheme: light)"
      scheme: default
      primary: indigo
      accent: deep orange
      toggle: {{icon: material/weather-night, name: Switch to dark mode}}
    - media: "(prefers-color-scheme: dark)"
      scheme: slate
      primary: indigo
      accent: deep orange
      toggle: {{icon: material/weather-sunny, name: Switch to light mode}}
markdown_extensions: [admonition, attr_list, md_in_html]
extra_css: [stylesheets/showcase.css]
"""


def check_link(where: str, value) -> str | None:
    """A link from showcase.yml: an http(s) URL or a relative path, else an error saying so."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or re.match(r"^[a-z][a-z0-9+.-]*:", value) and not value.startswith("http"):
        raise ShowcaseError(f"{where}: links must be http(s) URLs or relative paths, got {value!r}.")
    return value


def check_project(project, where: str) -> dict:
    """An entry of showcase.yml checked for its keys; returns its `links`."""
    if not isinstance(project, dict):
        raise ShowcaseError(f"{where}: each project is a mapping (metrics: PATH, or title/task/metric/links).")
    unknown = sorted(set(project) - KEYS)
    if unknown:
        raise ShowcaseError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(KEYS)}.")
    links = project.get("links") or {}
    if not isinstance(links, dict) or set(links) - {"writeup", "repo"}:
        raise ShowcaseError(f"{where}: links takes `writeup` and `repo` only.")
    return links


def card_from_metrics(project: dict, where: str, path: Path, card: dict) -> dict:
    """What the card of a kit project shows, from the `display` block of its metrics.json at `path`."""
    m = read_metrics(path)
    d = m["display"]
    headline = project.get("headline", "accuracy")
    if headline not in HEADLINES:
        raise ShowcaseError(f"{where}: headline must be one of {sorted(HEADLINES)}, got {headline!r}.")
    other = "macro_f1" if headline == "accuracy" else "accuracy"
    figure = project.get("figure", "confusion_matrix")
    if figure not in m["figures"]:
        raise ShowcaseError(f"{where}: figure must be one of {sorted(m['figures'])}, got {figure!r}.")
    return card | {
        "title": card["title"] or m["project"],
        "task": card["task"] or m["task"],
        "metric": (d[headline], HEADLINES[headline]),
        "ci": d.get(f"{headline}_ci"),
        "secondary": f"{d[other]} {HEADLINES[other]} · {d['test_examples']} test examples of {m['dataset']['name']} "
        f"· {d['model']}",
        "image": path.parent / m["figures"][figure],
        "sample": bool(m["dataset"]["is_sample"]),
        "links": {**{k: v for k, v in (m.get("links") or {}).items() if v}, **card["links"]},
    }


def given_metric(metric, where: str) -> tuple[str, str]:
    """A hand-entered `{name, value}`: a fraction, shown as the projects show one (fmt_pct), or a text as it is."""
    if not isinstance(metric, dict) or set(metric) != {"name", "value"}:
        raise ShowcaseError(f"{where}: metric is `{{name: macro-F1, value: 0.871}}` (a fraction or a text).")
    value = metric["value"]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ShowcaseError(f"{where}: metric value must be a fraction in [0, 1] or a text, got {value!r}.")
    if isinstance(value, int | float) and not 0 <= value <= 1:
        raise ShowcaseError(
            f"{where}: metric value {value} is not a fraction in [0, 1]: write 0.871 for 87.1%, or a text "
            "such as '23.4 BLEU' for other scales."
        )
    return (value if isinstance(value, str) else formats.fmt_pct(value), str(metric["name"]))


def card_given(project: dict, where: str, base: Path, card: dict) -> dict:
    """What the card of a project kept elsewhere shows: its own title, metric and image."""
    if not card["title"]:
        raise ShowcaseError(f"{where}: give `metrics: path/to/reports/latest/metrics.json`, or at least `title`.")
    if project.get("metric") is not None:
        card["metric"] = given_metric(project["metric"], where)
    if project.get("image"):
        image = (base / Path(project["image"]).expanduser()).resolve()
        if not image.is_file():
            raise ShowcaseError(f"{where}: no image at {image}.")
        card["image"] = image
    return card


def portfolio_card_data(project: dict, index: int, base: Path, strict: bool) -> dict:
    """One entry of showcase.yml -> what its card shows; reads its metrics.json when it names one."""
    where = f"showcase.yml, project {index + 1}"
    links = check_project(project, where)
    card = {"title": project.get("title"), "task": project.get("task"), "summary": project.get("summary"),
            "image": None, "sample": False, "metric": None, "ci": None, "secondary": None, "missing": None,
            "links": links}  # fmt: skip
    if not project.get("metrics"):
        card = card_given(project, where, base, card)
    else:
        path = (base / Path(project["metrics"]).expanduser()).resolve()
        if path.is_file():
            card = card_from_metrics(project, where, path, card)
        elif strict:
            raise ShowcaseError(f"{where}: no metrics.json at {path}: run `make report` in that project.")
        else:
            # Relative links point into pages that are not built either: keep only the absolute ones.
            absolute = {k: v for k, v in links.items() if str(v).startswith("http")}
            return card | {"missing": str(project["metrics"]), "links": absolute,
                           "title": card["title"] or Path(project["metrics"]).parts[0]}  # fmt: skip
    for key in ("writeup", "repo"):
        check_link(where, card["links"].get(key))
    return card


def portfolio_card(card: dict, thumb: str | None) -> str:
    """The HTML of one portfolio card."""
    out = ['<article class="sc-card sc-card--portfolio">']
    if thumb:
        out.append(f'<img class="sc-card__thumb" src="{esc(thumb)}" alt="Figure of {esc(card["title"])}">')
    out.append(f'<div class="sc-card__body"><h3 class="sc-card__title">{esc(card["title"])}</h3>')
    if card["task"]:
        out.append(f'<span class="sc-card__task">{esc(card["task"])}</span>')
    if card["sample"]:
        badge = f'<span class="sc-badge sc-badge--sample" title="{esc(formats.SAMPLE_NOTE)}">'
        out.append(f"{badge}{esc(formats.SAMPLE_TITLE)}</span>")
    if card["missing"]:
        out.append(
            f'<p class="sc-card__missing">Not built yet: no metrics.json at <code>{esc(card["missing"])}</code>. '
            "Run <code>make showcase</code> (or <code>make report</code> in that project).</p>"
        )
    if card["metric"]:
        value, name = card["metric"]
        ci = f' <span class="sc-card__ci">(95% CI {esc(card["ci"])})</span>' if card["ci"] else ""
        out.append(f'<p class="sc-card__metric"><strong>{esc(value)}</strong> {esc(name)}{ci}</p>')
    if card["secondary"]:
        out.append(f'<p class="sc-card__detail">{esc(card["secondary"])}</p>')
    if card["summary"]:
        out.append(f'<p class="sc-card__summary">{esc(card["summary"])}</p>')
    links = card["links"]
    buttons = [
        f'<a class="md-button md-button--primary" href="{esc(links["writeup"])}">Write-up</a>' if links.get("writeup")
        else "",
        f'<a class="md-button" href="{esc(links["repo"])}">GitHub</a>' if links.get("repo") else "",
    ]  # fmt: skip
    if any(buttons):
        out.append(f'<p class="sc-card__links">{"".join(buttons)}</p>')
    out.append("</div>\n</article>")
    return "\n".join(out) + "\n"


def read_showcase(path: Path) -> dict:
    """showcase.yml, checked at the top level."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ShowcaseError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("projects"), list) or not data["projects"]:
        raise ShowcaseError(f"{path}: needs a `projects:` list (see showcase_site/showcase.yml for the format).")
    unknown = sorted(set(data) - {"title", "intro", "site_url", "projects"})
    if unknown:
        raise ShowcaseError(f"{path}: unknown top-level key(s) {unknown}; allowed: title, intro, site_url, projects.")
    return data


def write_portfolio(showcase: Path, page_dir: Path, strict: bool, heading: bool = True) -> list[dict]:
    """Render showcase.yml into `page_dir`/index.md with thumbnails in `page_dir`/assets/; return the cards."""
    data = read_showcase(showcase)
    cards = [portfolio_card_data(p, i, showcase.parent, strict) for i, p in enumerate(data["projects"])]
    shutil.rmtree(page_dir / "assets", ignore_errors=True)
    html_cards = []
    for i, card in enumerate(cards):
        thumb = None
        if card["image"]:
            name = f"{i + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', card['title'].lower()).strip('-')[:40]}.png"
            thumbnail(card["image"], page_dir / "assets" / name)
            thumb = f"assets/{name}"
        html_cards.append(portfolio_card(card, thumb))
    sample = sample_admonition(some=not all(c["sample"] for c in cards)) if any(c["sample"] for c in cards) else ""
    title = f"# {data.get('title') or 'Portfolio'}\n\n" if heading else ""
    intro = f"{data['intro'].strip()}\n\n" if data.get("intro") else ""
    write(
        page_dir / "index.md",
        f'{CARDS}{GENERATED}{title}{intro}{sample}<div class="sc-grid" markdown="0">\n{"".join(html_cards)}</div>\n',
    )
    for card in cards:
        if card["missing"]:
            print(f"warning: portfolio: {card['title']}: no metrics.json at {card['missing']} (card says so)")
    return cards


def portfolio_site(showcase: Path, out: Path) -> None:
    """A stand-alone MkDocs project in `out` whose only page is the portfolio of `showcase`."""
    data = read_showcase(showcase)
    docs = out / "docs"
    write_portfolio(showcase, docs, strict=True)
    write(docs / "stylesheets" / "showcase.css", (SITE / "docs" / "stylesheets" / "showcase.css").read_text())
    site_url = f"site_url: {json.dumps(data['site_url'])}\n" if data.get("site_url") else ""
    title = json.dumps(str(data.get("title") or "Portfolio"))
    write(out / "mkdocs.yml", PORTFOLIO_MKDOCS.format(source=showcase.name, title=title, site_url=site_url))
    print(f"portfolio: {out}/ (mkdocs build --strict -f {out}/mkdocs.yml; mkdocs gh-deploy to publish)")
