"""Write the generated pages of the showcase site, or a stand-alone portfolio site, from real files only.

    python showcase_site/build.py site [--examples build/showcase] [--portfolio showcase_site/showcase.yml]
        docs/options.md            every key of cookiecutter.json: prompt, default, choices (notes: options.yml)
        docs/gallery/              the examples of `examples.py`, from their metrics.json, figures and write-ups
        docs/portfolio/index.md    one card per project of showcase.yml
        docs/_snippets/pitch.md    the README pitch block the default example's `make report` wrote (home page)
    python showcase_site/build.py portfolio my-showcase.yml --out my-portfolio
        my-portfolio/              mkdocs.yml + docs/: your portfolio alone, ready for `mkdocs gh-deploy`

Every number and description on a generated page is the one a project's own `make report` wrote into the `display`
block of its metrics.json; the few the site adds itself (a comparison across examples, a fraction typed into
showcase.yml) go through the projects' own formats.py. Pages whose inputs do not exist yet say how to make them, so
`mkdocs build --strict` passes on a fresh checkout. The work is done by the modules next to this file: options_page,
gallery, portfolio (and common; numbers are formatted by the library, dl_portfolio.formats).
"""

import argparse
import json
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the modules next to this file are the package `showcase_site`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from showcase_site.common import KIT, SITE, ShowcaseError, write  # noqa: E402
from showcase_site.gallery import write_gallery, write_pitch  # noqa: E402
from showcase_site.options_page import options_page  # noqa: E402
from showcase_site.portfolio import portfolio_site, write_portfolio  # noqa: E402


def build_site(site: Path, examples: Path, showcase: Path, strict: bool) -> None:
    """Every generated page of the showcase site in `site`/docs."""
    docs = site / "docs"
    template = json.loads((KIT / "cookiecutter.json").read_text(encoding="utf-8"))
    notes = yaml.safe_load((site / "options.yml").read_text(encoding="utf-8")) or {}
    write(docs / "options.md", options_page(template, notes))
    entries = write_gallery(examples, docs)
    repo_url = re.search(r"^repo_url:\s*(\S+)", (site / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE)
    write_pitch(entries, docs, repo_url and repo_url.group(1).strip("\"'"))
    write_portfolio(showcase, docs / "portfolio", strict)
    runs = ", ".join(e["page"] for e in entries) or "none yet (run `make showcase`)"
    print(f"showcase: wrote {docs}/options.md, gallery ({runs}), portfolio ({showcase})")


def main(argv: list[str] | None = None) -> None:
    """`site` (the kit's showcase site) or `portfolio` (a stand-alone portfolio site)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("site", help="generate the showcase site's pages")
    s.add_argument("--site", type=Path, default=SITE, help="the showcase site folder (mkdocs.yml, docs/)")
    s.add_argument("--examples", type=Path, default=KIT / "build" / "showcase", help="what examples.py wrote")
    s.add_argument("--portfolio", type=Path, default=SITE / "showcase.yml", help="the showcase.yml to render")
    s.add_argument("--strict", action="store_true", help="a metrics.json that showcase.yml names must exist")
    p = sub.add_parser("portfolio", help="a stand-alone portfolio site from your showcase.yml")
    p.add_argument("showcase", type=Path, help="your showcase.yml")
    p.add_argument("--out", type=Path, required=True, help="folder for mkdocs.yml and docs/ (created)")
    opts = parser.parse_args(argv)
    try:
        if opts.command == "site":
            build_site(opts.site, opts.examples, opts.portfolio, opts.strict)
        else:
            portfolio_site(opts.showcase, opts.out)
    except ShowcaseError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
