"""The two fully generated pages of the write-up: docs/results.md and docs/model-card.md, from metrics.json."""

from collections import Counter

import yaml

from .writeup import (
    GENERATED,
    code,
    comparison_table,
    describe_model,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    mistakes_table,
    on_test,
    sample_admonition,
)

SHOWN_MISTAKES = 10


def hardware_line(hw: dict) -> str:
    """'1 × NVIDIA H100 (79.2 GiB)' or 'CPU (x86_64)'."""
    if not hw:
        return "unrecorded hardware"
    gpus = Counter((g["name"], g["memory_gib"]) for g in hw.get("gpus") or [])
    if gpus:
        return ", ".join(f"{n} × {name} ({memory} GiB)" for (name, memory), n in gpus.items())
    return f"CPU ({hw.get('cpu') or 'unknown'})"


def git_line(git: dict) -> str:
    """Commit the run was trained from, and whether the tree had uncommitted changes."""
    if not git or not git.get("sha"):
        return "not recorded (the project was not a git repository when it was trained)"
    return f"`{git['sha'][:12]}`" + (" with uncommitted changes" if git.get("dirty") else "")


def splits_table(m: dict) -> str:
    """Examples per split."""
    splits = m["dataset"]["splits"]
    rows = "".join(f"| {name} | {fmt_int(splits[name])} |\n" for name in ("train", "validation", "test"))
    return "| split | examples |\n|---|---:|\n" + rows


def per_class_table(m: dict) -> str:
    """Precision, recall, F1 and support of every class."""
    rows = "".join(
        f"| {code(label)} | {fmt_pct(c['precision'])} | {fmt_pct(c['recall'])} | {fmt_pct(c['f1'])} "
        f"| {fmt_int(c['support'])} |\n"
        for label, c in m["per_class"].items()
    )
    return "| topic | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n" + rows


def results_page(m: dict, mistakes: list[dict]) -> str:
    """docs/results.md: every number of the run, its figures, its worst mistakes, and how to reproduce it."""
    cfg = m["config"]
    versions = " · ".join(f"{k} {v}" for k, v in (m["versions"] or {}).items()) or "not recorded"
    config_yaml = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).rstrip()
    indented = "\n".join(f"    {line}" for line in ("```yaml", *config_yaml.splitlines(), "```"))
    return f"""{GENERATED.format(run=m["run"])}
# Results

{sample_admonition(m)}Run {code(m["run"])}, evaluated once on {on_test(m)}, with the checkpoint of the best validation
macro-F1.

## Headline

{comparison_table(m)}
Weighted-F1 of this model: {fmt_pct(m["metrics"]["weighted_f1"])}.

## Per topic

{per_class_table(m)}
![F1 per topic](assets/figures/per_class_f1.svg)

## Confusion matrix

Rows are the true topics, columns the predicted ones; each row shows where that topic's test examples went.

![Row-normalised confusion matrix on the test set](assets/figures/confusion_matrix.svg)

## Learning curves

Loss and macro-F1 per epoch on the training and validation sets; the dashed line marks the selected checkpoint.

![Learning curves](assets/figures/learning_curves.svg)

## Most confident mistakes

The test examples the model got most confidently wrong (`reports/{m["run"]}/errors.csv` has a longer list). Some are
the model's errors, some are debatable or wrong labels: both are worth reading.

{mistakes_table(mistakes[:SHOWN_MISTAKES])}
## Reproduce

{splits_table(m)}
- **Seed:** {m["seed"]}
- **Git commit:** {git_line(m["git"])}
- **Training wall time:** {fmt_seconds(m["train_wall_seconds"])} on {hardware_line(m["hardware"])}
- **Versions:** {versions}

Save the resolved config below as `config.yaml` and run `make train ARGS="--config config.yaml --run_name again"`;
the metrics of this run are also in [metrics.json](assets/metrics.json).

??? note "Resolved config"
{indented}
"""


def model_card_page(m: dict) -> str:
    """docs/model-card.md: what the model is, what it is for, how it was measured, where it fails."""
    labels = m["confusion_matrix"]["labels"]
    per_class = m["per_class"]
    weakest = min(per_class, key=lambda k: per_class[k]["f1"])
    strongest = max(per_class, key=lambda k: per_class[k]["f1"])
    data, model_cfg = m["config"].get("data", {}), m["config"].get("model", {})
    sample = (
        "- **Sample data.** The model was trained and tested on a small set of texts written for the template; "
        "the numbers show that the pipeline works, not that the model does. Train it on real data before use.\n"
        if m["dataset"]["is_sample"]
        else ""
    )
    normalised = "Before training, user mentions become `@user` and links `http`. " if data.get("normalize") else ""
    truncation = (
        f"- Texts longer than {model_cfg.get('max_length')} tokens are cut; tweets rarely are.\n"
        if m["model"]["encoder"] == "transformer"
        else ""
    )
    return f"""{GENERATED.format(run=m["run"])}
# Model card

{sample_admonition(m)}## Model details

- **Task:** {m["task"]} of English tweets into {len(labels)} topics: {", ".join(code(label) for label in labels)}.
- **Model:** {describe_model(m)} with a linear classification head, trained with cross-entropy
  (run {code(m["run"])}, seed {m["seed"]}).
- **Trained on:** {hardware_line(m["hardware"])} in {fmt_seconds(m["train_wall_seconds"])}.
- **Code:** {m["links"]["repo"] or "this repository"}, commit {git_line(m["git"])}.

## Intended use

- Tagging public English tweets with one of the topics above, looked at in aggregate: topic trends, routing a feed,
  a first pass before a human reads the texts.
- A demonstration of a complete, reproducible deep learning project.

**Out of scope:** decisions about individual people (moderation, hiring, credit, surveillance or profiling of
accounts); languages other than English; texts unlike tweets (long articles, transcripts); topics outside the list:
the model always answers with one of the {len(labels)} topics, even when none fits.

## Data

**Data set:** {m["dataset"]["name"]} (source: {code(m["dataset"]["source"])}). {normalised}The labels are the data
set's own.

{splits_table(m)}
## Metrics

Measured once on the {m["split"]} split with the checkpoint of the best validation macro-F1. Macro-F1 counts every
topic the same, so a model cannot score well by only getting the frequent topics right.

{comparison_table(m, bold=False)}
Weighted-F1: {fmt_pct(m["metrics"]["weighted_f1"])}. Best topic: {code(strongest)} (F1
{fmt_pct(per_class[strongest]["f1"])}); weakest: {code(weakest)} (F1 {fmt_pct(per_class[weakest]["f1"])}). All topics
are on the [results page](results.md).

## Limitations

{sample}- One test set and one seed: there is no confidence interval, and another seed or split moves the numbers.
- The weakest topic, {code(weakest)}, is where the model is least reliable; topics overlap (a sports business story
  fits two labels) and a single label hides that.
- Language changes: slang, events and hashtags of the training period age, and accuracy drops on newer tweets.
- The class probabilities are not calibrated: a confident answer is not right as often as its confidence says.
{truncation}
## Ethical considerations

- Tweets are written by real people. Even public ones can reveal who someone is; keep the data and predictions
  about individuals out of reach of people who could misuse them, and honour deletions.
- Labels reflect the annotators and the accounts that were sampled: dialects, non-US topics and minority
  communities may be misread more often. Check the errors on your own data before relying on the model.
- Do not use the model to monitor, rank or target individual people.
"""
