"""docs/options.md: every key of the kit's cookiecutter.json (prompt, default, choices), with the notes of options.yml.

The defaults are rendered by cookiecutter's own code, so a derived value shows what `--no-input` really answers; a
note in options.yml about a key or a choice cookiecutter.json no longer has stops the build.
"""

import shlex

from showcase_site.common import GENERATED, WIDE, ShowcaseError, cell

INTRO = (
    "Every prompt of the kit, read from the kit's `cookiecutter.json` when this site was built: the prompt text, "
    "the default you get by pressing Enter (or with `--no-input`) and the choices. Give answers on the command "
    "line to skip the prompts:\n\n"
    "```bash\ncookiecutter gh:org/dl-portfolio --no-input \\\n"
    "    project_name='Tweet Topics' dataset=sample model=bow\n"
    "```\n\n"
    "Answers are checked before anything is written (names, email, GitHub user name): a bad one stops with one "
    "line saying what to change, and no folder is left behind.\n\n"
)


def default_answers(template: dict) -> dict:
    """What `cookiecutter --no-input` answers: choices' first items, derived values rendered (cookiecutter's code)."""
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.prompt import render_variable

    env = StrictEnvironment(context={"cookiecutter": template})
    answers = {}
    for key, raw in template.items():
        if key.startswith("_") and not key.startswith("__"):
            continue  # `_extensions` and friends are cookiecutter settings, not values
        if key == "__prompts__":
            continue
        value = raw[0] if isinstance(raw, list) else raw
        answers[key] = render_variable(env, value, answers) if isinstance(value, str) else value
    return answers


def choices_of(raw) -> list | None:
    """The choices of a cookiecutter.json value (a list), None for free text."""
    return raw if isinstance(raw, list) else None


def is_derived(raw) -> bool:
    """Whether a cookiecutter.json value is computed from other answers (a Jinja expression)."""
    return isinstance(raw, str) and "{{" in raw


def option_row(key: str, raw, prompt: str, default) -> str:
    """The summary table's row of one key."""
    choices = choices_of(raw)
    shown = f"`{default}`" + (" (derived)" if is_derived(raw) else "")
    listed = cell(", ".join(f"`{c}`" for c in choices)) if choices else "any text"
    return f"| [`{key}`](#{key}) | {cell(prompt)} | {cell(shown)} | {listed} |"


def option_section(key: str, raw, prompt: str | None, default, note: dict) -> str:
    """The section of one key: prompt, default, the note of options.yml, its choices, a command line using it."""
    choices = choices_of(raw)
    stale = sorted(set(note.get("choices", {})) - set(choices or []))
    if stale:
        raise ShowcaseError(f"showcase_site/options.yml describes choices of {key} that do not exist: {stale}")
    text = [f"### `{key}` {{#{key}}}\n", f"**Prompt:** {prompt or '(none)'}  "]
    if is_derived(raw):
        text.append(f"**Default:** derived, `{default}` with the default answers, from `{raw}`\n")
    else:
        text.append(f"**Default:** `{default}`\n")
    if note.get("note"):
        text.append(note["note"].strip() + "\n")
    if choices and note.get("choices"):
        text.append("| choice | what it gives |\n|---|---|")
        for c in choices:
            mark = " (default)" if c == choices[0] else ""
            text.append(f"| `{c}`{mark} | {cell(note['choices'].get(c, ''))} |")
        text.append("")
    elif choices:
        text.append(f"**Choices:** {', '.join(f'`{c}`' for c in choices)}\n")
    # Show another choice than the default: that is when one types it.
    example = shlex.quote(f"{key}={choices[1] if choices and len(choices) > 1 else default}")
    text.append(f"On the command line: `cookiecutter gh:org/dl-portfolio {example}`\n")
    return "\n".join(text)


def options_page(template: dict, notes: dict) -> str:
    """docs/options.md: a table of every prompt, then one section per key, then the internal keys."""
    unknown = sorted(set(notes) - set(template))
    if unknown:
        raise ShowcaseError(f"showcase_site/options.yml describes keys cookiecutter.json no longer has: {unknown}")
    prompts = template.get("__prompts__", {})
    defaults = default_answers(template)
    public = [k for k in template if not k.startswith("_")]
    rows = [option_row(k, template[k], prompts.get(k, ""), defaults[k]) for k in public]
    sections = [option_section(k, template[k], prompts.get(k), defaults[k], notes.get(k) or {}) for k in public]
    internal = [k for k in template if k.startswith("_")]
    internal_rows = "\n".join(f"| `{k}` | {cell(notes.get(k, {}).get('note', '').strip())} |" for k in internal)
    return (
        f"{WIDE}{GENERATED}# Options\n\n{INTRO}"
        "| key | prompt | default | choices |\n|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "## Each option\n\n" + "\n".join(sections) + "\n## Internal keys\n\n"
        "Keys starting with `_` are not asked: cookiecutter reads them as settings.\n\n"
        "| key | what it is |\n|---|---|\n" + internal_rows + "\n"
    )
