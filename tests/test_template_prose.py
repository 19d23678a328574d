"""The library knows the template's own write-up paragraphs (dl_portfolio/template_prose.py), so `make ready` can tell
which ones an applicant has not rewritten yet: this checks that list against the template as it is now.

After editing the template's docs/index.md, write the list again: `.venv/bin/python -m tests.test_template_prose`.
"""

import itertools
import json

import jinja2
from dl_portfolio import prose, ready, template_prose

from .conftest import KIT

PAGE = KIT / "{{cookiecutter.project_slug}}" / "docs" / "index.md"
OPTIONS = json.loads((KIT / "cookiecutter.json").read_text())
# The answers that are the applicant's own: a paragraph with one of them in it is theirs (or a placeholder `ready`
# reports as such), never template prose.
OWN = ("project_name", "project_slug", "package_name", "description", "author_name", "email", "github_username")


def rendered_paragraphs() -> dict[str, str]:
    """Fingerprint -> text of every prose paragraph of docs/index.md, over every dataset and model answer."""
    template = jinja2.Environment(keep_trailing_newline=True).from_string(PAGE.read_text(encoding="utf-8"))
    found = {}
    for dataset, model in itertools.product(OPTIONS["dataset"], OPTIONS["model"]):
        answers = {key: f"@@{key}@@" for key in OWN} | {"dataset": dataset, "model": model}
        for paragraph in prose.paragraphs(template.render(cookiecutter=answers)):
            if "@@" not in paragraph.text:
                found[paragraph.fingerprint] = paragraph.text
    return found


def module_text(found: dict[str, str]) -> str:
    """template_prose.py for these paragraphs: each fingerprint with the paragraph's first words, for a reader."""
    rows = "".join(f'        "{key}",  # {text[:80]}\n' for key, text in sorted(found.items(), key=lambda kv: kv[1]))
    return (
        '"""The fingerprints (prose.fingerprint) of the prose paragraphs of the template\'s docs/index.md, over every\n'
        "dataset and model answer: a paragraph of a project's write-up found here is still the template's, word for\n"
        "word. Written by the kit (`.venv/bin/python -m tests.test_template_prose`), whose\n"
        'tests/test_template_prose.py checks it against the template."""\n\n'
        f"PARAGRAPHS = frozenset(\n    {{\n{rows}    }}\n)\n"
    )


def test_the_library_knows_every_template_paragraph():
    found = rendered_paragraphs()
    assert len(found) >= 10  # problem, four data and two approach variants, lessons, next steps
    assert set(found) == template_prose.PARAGRAPHS, "run `.venv/bin/python -m tests.test_template_prose`"


def test_ready_knows_the_placeholders_the_prompts_default_to():
    assert set(ready.PLACEHOLDERS) == {OPTIONS[key] for key in ("author_name", "email", "github_username")}


if __name__ == "__main__":
    target = KIT / "library" / "src" / "dl_portfolio" / "template_prose.py"
    target.write_text(module_text(rendered_paragraphs()), encoding="utf-8")
    print(f"wrote {target}")
