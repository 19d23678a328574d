"""The two fully generated pages of the write-up: docs/results.md and docs/model-card.md, from metrics.json."""

import yaml

from . import card_text, textprep
from .formats import (
    describe_model,
    fmt_ci,
    fmt_int,
    fmt_mean_std,
    fmt_p,
    fmt_pct,
    fmt_points,
    fmt_seconds,
    hardware_line,
    label_name,
    plural,
)
from .writeup import GENERATED, code, comparison_table, mistakes_table, noun, on_test, sample_admonition

SHOWN_MISTAKES = 10


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


def name_cell(label: str) -> str:
    """A class as a person reads it (formats.label_name), safe in a Markdown table."""
    return label_name(label).replace("|", "\\|")


def per_class_table(m: dict) -> str:
    """Precision, recall, F1 and support of every class, by its readable name."""
    rows = "".join(
        f"| {name_cell(label)} | {fmt_pct(c['precision'])} | {fmt_pct(c['recall'])} | {fmt_pct(c['f1'])} "
        f"| {fmt_int(c['support'])} |\n"
        for label, c in m["per_class"].items()
    )
    return f"| {noun(m)} | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n" + rows


def significance_table(m: dict) -> str:
    """Each baseline against this model on the same test examples: differences with paired bootstrap intervals and
    the exact McNemar test of the accuracies."""
    names = {"bow": "bag-of-n-grams baseline", "majority": "majority class"}
    rows = ""
    for key, comparison in (m.get("significance") or {}).items():
        acc, f1, test = comparison["accuracy"], comparison["macro_f1"], comparison["mcnemar"]
        rows += (
            f"| {names.get(key, key)} | {fmt_points(acc['difference'])} ({fmt_ci(acc, points=True)}) "
            f"| {fmt_points(f1['difference'])} ({fmt_ci(f1, points=True)}) | {fmt_p(test['p_value'])} "
            f"({test['only_model_right']} vs {test['only_baseline_right']}) |\n"
        )
    if not rows:
        return "No baseline was compared on the same examples.\n"
    return (
        "How much better this model is than each baseline, in percentage points, on the same test examples. The "
        "intervals come from a paired bootstrap (the same resampled tweets scored by both models, 1,000 resamples, "
        "seed 0); the p-value is the exact McNemar test of the two accuracies (in brackets: the examples only this "
        "model gets right vs. only the baseline gets right).\n\n"
        "| baseline | accuracy gain (95% CI) | macro-F1 gain (95% CI) | McNemar |\n|---|---:|---:|---:|\n" + rows
    )


def seeds_table(m: dict) -> str:
    """The test scores of each seed of the run's group, with the mean and standard deviation."""
    seeds = m.get("seeds")
    if not seeds:
        return (
            "One seed: another seed moves the numbers too. `make train SEEDS=3` trains three as one group and this "
            "page then shows their spread.\n"
        )
    rows = "".join(
        f"| {code(r['run'])}{' (headline)' if r['run'] == seeds['selected'] else ''} | {r['seed']} | "
        f"{fmt_pct(r.get('val_macro_f1'))} | {fmt_pct(r.get('accuracy'))} | {fmt_pct(r.get('macro_f1'))} |\n"
        for r in seeds["runs"]
    )
    return (
        f"{len(seeds['runs'])} seeds of the same config: accuracy {fmt_mean_std(seeds['accuracy'])}, macro-F1 "
        f"{fmt_mean_std(seeds['macro_f1'])} (mean ± standard deviation over the seeds). The headline is run "
        f"{code(seeds['selected'])}, picked by validation macro-F1, not by its test score.\n\n"
        "| run | seed | validation macro-F1 | test accuracy | test macro-F1 |\n|---|---:|---:|---:|---:|\n" + rows
    )


def slices_table(m: dict) -> str:
    """Accuracy with its interval on slices of the test set, and the invariance check."""
    rows = "".join(
        f"| {s['name']} | {fmt_int(s['examples'])} | {fmt_pct(s['accuracy'])} ({fmt_ci(s)}) |\n"
        for s in m.get("slices") or []
    )
    inv = m.get("invariance") or {}
    if inv.get("checked"):
        note = " (mentions and links are normalised before the model sees them)" if m["config"].get("data", {}).get(
            "normalize", True) else ""  # fmt: skip
        invariance = (
            f"\nOther user names and links in the {fmt_int(inv['checked'])} test texts that have any leave "
            f"{fmt_pct(inv['unchanged'])} of the predictions unchanged{note}.\n"
        )
    else:
        invariance = "\nNo test text has a user name or a link to swap.\n"
    return "| slice | examples | accuracy (95% CI) |\n|---|---:|---:|\n" + rows + invariance


def results_page(m: dict, mistakes: list[dict]) -> str:
    """docs/results.md: every number of the run, its figures, its worst mistakes, and how to reproduce it."""
    cfg = m["config"]
    config_yaml = yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True).rstrip()
    indented = "\n".join(f"    {line}" for line in ("```yaml", *config_yaml.splitlines(), "```"))
    return f"""{GENERATED.format(run=m["run"])}
# Results

{sample_admonition(m)}Run {code(m["run"])}, evaluated once on {on_test(m)}, with the checkpoint of the best validation
macro-F1.

## Headline

{comparison_table(m)}
Weighted-F1 of this model: {fmt_pct(m["metrics"]["weighted_f1"])}.

## Against the baselines

{significance_table(m)}
## Seeds

{seeds_table(m)}
## Per {noun(m)}

{per_class_table(m)}
![F1 per {noun(m)}](assets/figures/per_class_f1.svg)

## Confusion matrix

Rows are the true {plural(noun(m))}, columns the predicted ones; each row shows where that {noun(m)}'s test examples
went.

![Row-normalised confusion matrix on the test set](assets/figures/confusion_matrix.svg)

## Calibration

Expected calibration error {fmt_pct((m.get("calibration") or {}).get("ece"))}: on average over 15 confidence bins, the
gap between how confident the model is and how often it is right. Bars under the diagonal are over-confident.

![Reliability diagram](assets/figures/reliability.svg)

## Slices

Accuracy on parts of the test set that behave differently in tweets; small slices have wide intervals.

{slices_table(m)}
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
- **Versions:** {m["display"]["versions"]}

Save the resolved config below as `config.yaml` and run `make train ARGS="--config config.yaml --run_name again"`;
the metrics of this run are also in [metrics.json](assets/metrics.json).

??? note "Resolved config"
{indented}
"""


def model_card_page(m: dict) -> str:
    """docs/model-card.md: what the model is, what it is for, how it was measured, where it fails (its words are
    card_text's, shared with the Hub card)."""
    labels = m["confusion_matrix"]["labels"]
    per_class = m["per_class"]
    weakest = min(per_class, key=lambda k: per_class[k]["f1"])
    strongest = max(per_class, key=lambda k: per_class[k]["f1"])
    normalize = m["config"].get("data", {}).get("normalize")
    return f"""{GENERATED.format(run=m["run"])}
# Model card

{sample_admonition(m)}## Model details

- **Task:** {card_text.task(m)}
- **Model:** {describe_model(m["model"])} with a linear classification head, trained with cross-entropy
  (run {code(m["run"])}, seed {m["seed"]}).
- **Trained on:** {hardware_line(m["hardware"])} in {fmt_seconds(m["train_wall_seconds"])}.
- **Code:** {m["links"]["repo"] or "this repository"}, commit {git_line(m["git"])}.

## Intended use

{card_text.INTENDED_USE} Also: a demonstration of a complete, reproducible deep learning project.

**Out of scope:** {card_text.OUT_OF_SCOPE}

## Data

**Data set:** {m["dataset"]["name"]} (source: {code(m["dataset"]["source"])}). {textprep.describe(normalize)}
The labels are the data set's own.

{splits_table(m)}
## Metrics

Measured once on the {m["split"]} split with the checkpoint of the best validation macro-F1. Macro-F1 counts every
{noun(m)} the same, so a model cannot score well by only getting the frequent {plural(noun(m))} right.

{comparison_table(m, bold=False)}
Weighted-F1: {fmt_pct(m["metrics"]["weighted_f1"])}. Best {noun(m)}: {label_name(strongest)} (F1
{fmt_pct(per_class[strongest]["f1"])}); weakest: {label_name(weakest)} (F1 {fmt_pct(per_class[weakest]["f1"])}), where
the model is least reliable. All {len(labels)} {plural(noun(m))} are on the [results page](results.md).

## Limitations

{card_text.limitations(m)}
## Ethical considerations

{card_text.ETHICS}"""
