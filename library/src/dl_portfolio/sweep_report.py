"""The sweep section of the results page, for a run that is a sweep's final training (its folder has sweep.json).

reports/<run>/figures/sweep_history.png|svg      Optuna's optimisation history: each trial's validation macro-F1
reports/<run>/figures/sweep_importances.png|svg  Optuna's parameter importances (PED-ANOVA, no extra dependency)

The figures are drawn from the trials saved in sweep.json, not from the study's database: a report needs no access
to the PostgreSQL server a cluster sweep ran against. The section's numbers go into metrics.json (`sweep`), so
`verify` checks them like every other number on the page.
"""

import json
import warnings
from pathlib import Path

from . import figures
from .formats import fmt_int, fmt_pct, fmt_seconds

FIGURES = {
    "sweep_history": "Sweep: validation macro-F1 of each trial",
    "sweep_importances": "Sweep: how much each setting mattered (PED-ANOVA)",
}
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}


def summary(run_dir: Path, figures_dir: Path) -> dict | None:
    """metrics.json's `sweep` block (and the two figures in `figures_dir`), or None for a run no sweep chose."""
    path = run_dir / "sweep.json"
    if not path.is_file():
        return None
    sweep = json.loads(path.read_text(encoding="utf-8"))
    trials = [t for t in sweep["trials"] if not t.get("surplus") and t["state"] in STATES]
    drawn = draw(trials, figures_dir)
    retried = {t["retry_of"]: t["number"] for t in trials if t.get("retry_of") is not None}
    return {
        "study": sweep["study"],
        "space": sweep["space"],
        "sampler": sweep["sampler"],
        "pruner": sweep["pruner"],
        "n_trials": sweep["n_trials"],
        "states": {state: sum(t["state"] == state for t in trials) for state in STATES},
        "best": sweep["best"],
        "preset": sweep["preset"],
        "trial_seconds": sweep["trial_seconds"],
        "trials": [
            {
                "number": t["number"],
                "state": t["state"],
                "value": t["value"],
                "params": t["params"],
                "run": t["run"],
                "retry_of": t.get("retry_of"),
                "retried_as": retried.get(t["number"]),
            }
            for t in trials
        ],
        "figures": {name: f"figures/{name}.png" for name in drawn},
    }


def study_of(trials: list[dict]):
    """An in-memory Optuna study holding the saved trials, for Optuna's own plots."""
    import optuna
    from optuna.distributions import json_to_distribution
    from optuna.trial import TrialState, create_trial

    study = optuna.create_study(direction="maximize", study_name="saved")
    for t in trials:
        state = TrialState[t["state"]]
        study.add_trial(
            create_trial(
                state=state,
                value=t["value"] if state == TrialState.COMPLETE else None,
                params=t["params"],
                distributions={k: json_to_distribution(v) for k, v in t["distributions"].items()},
                intermediate_values={int(k): v for k, v in t["intermediate_values"].items()},
            )
        )
    return study


def draw(trials: list[dict], folder: Path) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNG + SVG; returns the names of those drawn.

    Importances need at least two completed trials whose values differ; with fewer there is no figure.
    """
    import matplotlib
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import matplotlib as plots

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = study_of(trials)
    drawn = []
    with warnings.catch_warnings(), matplotlib.rc_context():  # Optuna's plots set a global style: keep it in here
        warnings.simplefilter("ignore")  # the matplotlib plots and PED-ANOVA are marked "experimental"
        jobs = [
            ("sweep_history", lambda: plots.plot_optimization_history(study, target_name="validation macro-F1")),
            ("sweep_importances", lambda: plots.plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator())),
        ]
        for name, plot in jobs:
            try:
                ax = plot()
            except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
                continue  # too few completed trials for this plot
            fig = ax.figure
            for loc in ("left", "center", "right"):  # Optuna's own title sits on the left
                ax.set_title("", loc=loc)
            ax.set_title(FIGURES[name])
            if name == "sweep_history":
                ax.xaxis.get_major_locator().set_params(integer=True)
            figures.save(fig, folder / name)
            matplotlib.pyplot.close(fig)
            drawn.append(name)
    return drawn


def fmt_value(value) -> str:
    """A hyperparameter value for the table: three significant digits for floats, as is otherwise."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def trials_table(s: dict) -> str:
    """Every trial: its state, validation macro-F1 and values; the best one in bold."""
    keys = list(s["trials"][0]["params"]) if s["trials"] else []
    head = "| trial | state | validation macro-F1 | " + " | ".join(f"`{k}`" for k in keys) + " |\n"
    head += "|---:|---|---:|" + "---:|" * len(keys) + "\n"
    rows = []
    for t in s["trials"]:
        state = STATES[t["state"]]
        if t["retried_as"] is not None:
            state += f" (stopped; retried as {t['retried_as']})"
        elif t["retry_of"] is not None:
            state += f" (retry of {t['retry_of']})"
        score = fmt_pct(t["value"]) if t["state"] == "COMPLETE" else "–"
        number = f"**{t['number']}**" if t["number"] == s["best"]["number"] else str(t["number"])
        values = " | ".join(fmt_value(t["params"].get(k, "–")) for k in keys)
        rows.append(f"| {number} | {state} | {score} | {values} |\n")
    return head + "".join(rows)


def section(m: dict) -> str:
    """The Markdown section: how the configuration was chosen, honestly, the trials, and the two figures."""
    s = m["sweep"]
    states = s["states"]
    sampler, pruner = s["sampler"].get("name", "tpe"), s["pruner"].get("name", "none")
    pruning = "no pruning" if pruner == "none" else f"{pruner} pruning of trials that fell behind at an epoch"
    val = m["dataset"]["splits"].get("validation")
    figures_md = ""
    if "sweep_history" in s["figures"]:
        figures_md += "\n![Validation macro-F1 of each trial and the best so far](assets/figures/sweep_history.svg)\n"
    if "sweep_importances" in s["figures"]:
        figures_md += "\n![How much each setting mattered](assets/figures/sweep_importances.svg)\n"
    return f"""
## How this configuration was chosen

The settings of this run were not fixed in advance: they are those of trial {s["best"]["number"]}, the best of
{fmt_int(states["COMPLETE"] + states["PRUNED"])} trials of the Optuna study `{s["study"]}` (space `{s["space"]}`,
{sampler} sampler, {pruning}; {fmt_int(states["COMPLETE"])} completed, {fmt_int(states["PRUNED"])} pruned,
{fmt_int(states["FAIL"])} stopped by a crash and queued again), which compared validation macro-F1 only.
No trial read the test split; this run is the only one that did, once. The best trial's validation macro-F1,
{fmt_pct(s["best"]["value"])}, is the maximum of many tries on the same {fmt_int(val)} validation examples, so it
flatters the configuration; the test score above is the fair estimate. The trials took
{fmt_seconds(s["trial_seconds"])} of training in all; the chosen values are in `{s["preset"]}`.

{trials_table(s)}{figures_md}"""
