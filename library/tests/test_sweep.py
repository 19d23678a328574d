"""`sweep` with real Optuna on a real SQLite study: tiny bag-of-n-grams trials, a SIGKILL, two workers, no test."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from dl_portfolio.cli import main as cli
from dl_portfolio.report import report
from dl_portfolio.sweep import load_space
from dl_portfolio.sweep import main as sweep
from dl_portfolio.verify import verify

from .conftest import LABELS, PROJECT, new_root

PKG = "tweet_topic_classifier"
SPACE = {
    "params": {
        "model.lr": {"type": "float", "low": 1.0, "high": 30.0, "log": True},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "trainer.max_epochs": {"type": "int", "low": 1, "high": 3},
    },
    "sampler": {"name": "tpe", "seed": 0},
}
NO_EPOCHS = {k: v for k, v in SPACE["params"].items() if k != "trainer.max_epochs"}  # epochs fixed by the test


def write_space(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({**SPACE, **changes}))
    return path


def sweep_args(tmp_path: Path, data_dir: Path, space: Path, n: int, *extra: str) -> list[str]:
    return [
        "--space", str(space), "--n_trials", str(n), "--runs_dir", str(tmp_path / "runs"),
        "--preset_dir", str(tmp_path / "tuned"), "--heartbeat", "2",
        "--data.labels", json.dumps(LABELS), "--data.source", "local", "--data.path", str(data_dir),
        "--data.batch_size", "8", "--model.encoder", "bow", "--model.num_buckets", "4096", "--model.embed_dim", "16",
        "--model.optimizer", "sgd", "--model.weight_decay", "0", "--trainer.accelerator", "cpu",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false", *extra,
    ]  # fmt: skip


def study_of(tmp_path: Path, name: str = "space") -> optuna.Study:
    db = tmp_path / "runs" / "sweeps" / name / "study.db"
    return optuna.load_study(study_name=name, storage=f"sqlite:///{db}")


def trial_folders(tmp_path: Path, name: str = "space") -> list[str]:
    return sorted(p.name for p in (tmp_path / "runs" / "sweeps" / name).glob("trial-*"))


@pytest.mark.serial
def test_sweep_never_reads_test_then_trains_the_best_preset_and_reports_it(tmp_path, data_dir):
    space = write_space(tmp_path)
    hidden = tmp_path / "hidden-test.csv"
    (data_dir / "test.csv").rename(hidden)  # root ignores chmod: a test file that is not there cannot be read
    args = sweep_args(tmp_path, data_dir, space, 3)
    assert sweep([*args, "--final", "false"]) is None
    study = study_of(tmp_path)
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2] and {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert trial_folders(tmp_path) == ["trial-000", "trial-001", "trial-002"]
    for t in trials:
        run = tmp_path / "runs" / "sweeps" / "space" / t.user_attrs["run"]
        assert json.loads((run / "val_metrics.json").read_text())["best_val_f1_macro"] == t.value
        assert not (run / "test_metrics.json").exists() and not (run / "checkpoints").exists()
        assert set(json.loads((run / "manifest.json").read_text())["data"]) == {"train", "validation"}
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["data"]["read_test"] is False and config["model"]["lr"] == t.params["model.lr"]
    assert not (tmp_path / "runs" / "latest").exists()  # trials do not move runs/latest (RESUME=last, report)

    hidden.rename(data_dir / "test.csv")
    summary = sweep(args)  # the same command again: nothing left to try, so the final training runs
    best = study.best_trial
    preset = tmp_path / "tuned" / "space.yaml"
    assert yaml.safe_load(preset.read_text()) == {
        "model": {"lr": best.params["model.lr"], "dropout": best.params["model.dropout"]},
        "trainer": {"max_epochs": best.params["trainer.max_epochs"]},
    }
    final = tmp_path / "runs" / f"sweep-space-{best.number:03d}"
    assert (tmp_path / "runs" / "latest").resolve() == final.resolve()
    config = yaml.safe_load((final / "config.yaml").read_text())
    assert config["model"]["lr"] == best.params["model.lr"] and config["data"]["read_test"] is True
    test = json.loads((final / "test_metrics.json").read_text())
    assert test["best_val_f1_macro"] == best.value  # same values, same seed: the preset reproduces the best trial
    assert summary["final"]["test"] == test and [t["number"] for t in summary["trials"]] == [0, 1, 2]
    assert len(study.trials) == 3  # the second command ran no trial

    root = new_root(tmp_path / "project")
    metrics = report(root, tmp_path / "runs")
    assert metrics["sweep"]["best"]["number"] == best.number
    assert set(metrics["sweep"]["figures"]) == {"sweep_history", "sweep_importances"}
    for name in metrics["sweep"]["figures"]:
        for ext in ("png", "svg"):
            assert (root / "docs" / "assets" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    page = (root / "docs" / "results.md").read_text()
    section = page[page.index("## How this configuration was chosen") :]
    assert "No trial read the test split" in section and section.count("| complete |") == 3
    assert f"| **{best.number}** | complete |" in section
    assert verify(root).startswith("verify: ")  # the section's numbers are metrics.json's


def test_a_pruned_trial_stops_at_its_epoch_and_a_study_without_a_completed_trial_says_so(tmp_path, data_dir, capsys):
    # A threshold no macro-F1 reaches: every trial is pruned after its second epoch (step 1).
    space = write_space(tmp_path, params=NO_EPOCHS, pruner={"name": "threshold", "lower": 1.01, "n_warmup_steps": 1})
    args = sweep_args(tmp_path, data_dir, space, 2, "--trainer.max_epochs", "3")
    with pytest.raises(SystemExit) as exit_info:
        cli(["sweep", *args])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: no trial of study space completed")
    trials = study_of(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["PRUNED", "PRUNED"]
    assert all(sorted(t.intermediate_values) == [0, 1] for t in trials)
    for t in trials:  # the run stopped after epoch 1 of 3: its log has epochs 0 and 1 only
        log = tmp_path / "runs" / "sweeps" / "space" / t.user_attrs["run"] / "logs" / "attempt_0" / "metrics.csv"
        with log.open() as f:
            assert sorted({row["epoch"] for row in csv.DictReader(f) if row["val/f1_macro"]}) == ["0", "1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--space", "configs/sweep/nope.yaml"], "error: no search space configs/sweep/nope.yaml"),
        (["--resume", "last"], "error: --resume cannot be given to a sweep"),
        (["--run_name", "x"], "error: --run_name cannot be given to a sweep"),
        (["--storage", "postgresql://me:secret@db/optuna"], "error: the storage URL postgresql://me:***@db/optuna"),
        (["--n_trials", "0"], "error: --n_trials and --heartbeat must be at least 1"),
    ],
)
def test_mistakes_are_one_line(tmp_path, data_dir, capsys, change, message):
    args = sweep_args(tmp_path, data_dir, write_space(tmp_path), 1)
    if change[0] in ("--space", "--n_trials"):
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    with pytest.raises(SystemExit) as exit_info:
        cli(["sweep", *args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and "secret" not in err
    assert err.strip().splitlines()[-1].startswith(message)


def test_bad_space_files_and_another_setup_on_the_same_study_are_refused(tmp_path, data_dir, capsys):
    bad = tmp_path / "bad.yaml"
    for text, message in [
        ("params: {model.lr: {type: uniform, low: 1, high: 2}}", "model.lr needs `type: float`, `int` or"),
        ("params: {model.lr: {type: float, low: 2, high: 1}}", "model.lr needs numbers `low` < `high`"),
        ("params: {lr: {type: float, low: 1, high: 2}}", "lr is not a model., data. or trainer. option"),
        ("params: {model.lr: {type: float, low: 1, high: 2}}\nsampler: {name: grid}", "sampler name 'grid' is not"),
    ]:
        bad.write_text(text)
        with pytest.raises(SystemExit):
            cli(["sweep", *sweep_args(tmp_path, data_dir, bad, 1)])
        assert message in capsys.readouterr().err
    space = write_space(tmp_path)
    sweep([*sweep_args(tmp_path, data_dir, space, 1), "--final", "false"])
    with pytest.raises(SystemExit):
        cli(["sweep", *sweep_args(tmp_path, data_dir, space, 1, "--data.batch_size", "4"), "--final", "false"])
    assert "error: study space was started with other training options" in capsys.readouterr().err


def test_the_shipped_spaces_load():
    for name in ("bow", "transformer"):
        space = load_space(PROJECT / "configs" / "sweep" / f"{name}.yaml")
        assert {"model.lr", "model.warmup_ratio", "model.dropout", "data.batch_size", "trainer.max_epochs"} <= set(
            space.params
        )
        assert space.params["model.lr"]["log"] is True and space.pruner["name"] == "median"
    assert "model.layer_decay" in load_space(PROJECT / "configs" / "sweep" / "transformer.yaml").params


def run_sweep(tmp_path: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", PKG, "sweep", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def running_trial(db: Path, process: subprocess.Popen, timeout: float = 90) -> int:
    """The number of a RUNNING trial past trial 0 that has reported an epoch (so it is mid-way), read from SQLite."""
    query = (
        "SELECT t.number FROM trials t WHERE t.state = 'RUNNING' AND t.number >= 1 AND EXISTS "
        "(SELECT 1 FROM trial_intermediate_values v WHERE v.trial_id = t.trial_id)"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        try:
            with sqlite3.connect(db, timeout=1) as connection:
                row = connection.execute(query).fetchone()
        except sqlite3.OperationalError:  # not created yet, or locked by a writer for a moment
            row = None
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError("no trial was ever running")


@pytest.mark.serial
def test_sigkill_mid_trial_then_two_workers_of_the_same_command_finish_it_running_each_trial_once(tmp_path, data_dir):
    # One worker is killed mid-trial; the same command is then started twice at once (two workers on one study):
    # together they retry the killed trial, keep the finished ones and run every other trial exactly once.
    args = sweep_args(tmp_path, data_dir, write_space(tmp_path, params=NO_EPOCHS), 3, "--trainer.max_epochs", "3")
    first = run_sweep(tmp_path, args)
    killed = running_trial(tmp_path / "runs" / "sweeps" / "space" / "study.db", first)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    before = {t.number: t for t in study_of(tmp_path).get_trials() if t.state.is_finished()}
    assert killed not in before and before and all(t.state.name == "COMPLETE" for t in before.values())

    workers = [run_sweep(tmp_path, args) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    everything = study_of(tmp_path).get_trials()
    # Racing for the last queued trial, the losing worker's Optuna may create one empty trial: failed, never trained.
    surplus = [t for t in everything if t.user_attrs.get("surplus")]
    assert all(t.state.name == "FAIL" and not t.params and t.number >= 4 for t in surplus)
    trials = [t for t in everything if t not in surplus]
    numbers = [t.number for t in trials]
    assert numbers == list(range(4))  # 3 finished + the killed one, each number once
    states = {t.number: t.state.name for t in trials}
    assert states[killed] == "FAIL" and sum(s == "COMPLETE" for s in states.values()) == 3
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE" and retry[0].params == trials[killed].params
    for number, finished in before.items():  # finished before the kill: kept as they were, not run again
        assert trials[number].value == finished.value and trials[number].datetime_complete == finished.datetime_complete
    ran = [int(out.split("this worker ran ")[1].split()[0]) for out in outputs]
    assert sum(ran) == 3 - len(before)  # the two workers together ran exactly what was left
    assert trial_folders(tmp_path) == [f"trial-{n:03d}" for n in range(4)]
    for number in numbers:  # every trial trained exactly once: one log attempt each, none resumed or repeated
        logs = tmp_path / "runs" / "sweeps" / "space" / f"trial-{number:03d}" / "logs"
        assert [p.name for p in logs.iterdir()] == ["attempt_0"]
        assert (logs.parent / "val_metrics.json").is_file() == (number != killed)
        assert not (logs.parent / "checkpoints").exists()  # trials save no weights, the killed one neither
    assert sum("once, with the test split" in out for out in outputs) == 1  # one final training, not two
    finals = list((tmp_path / "runs").glob("sweep-space-*"))
    assert [p.name for p in finals] == [f"sweep-space-{study_of(tmp_path).best_trial.number:03d}"]
    assert (finals[0] / "test_metrics.json").is_file() and (finals[0] / "sweep.json").is_file()


# A worker that takes queued trials as fast as it can, with a trivial objective, through the sweep's storage.
GRABBER = """
import os, sys, warnings
warnings.filterwarnings("ignore")
import optuna
from dl_portfolio.sweep import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="race", storage=open_storage(sys.argv[1], 60))
def objective(trial):
    print(trial.number, flush=True)
    return 0.0
while study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
    study.optimize(objective, n_trials=1)
"""


@pytest.mark.serial
def test_workers_racing_for_queued_trials_never_take_the_same_one(tmp_path):
    # Optuna takes a queued trial by reading its state, then writing RUNNING; on SQLite the sweep's storage makes that
    # one locked transaction. Without it, four workers racing through 40 queued trials took some of them twice.
    url = f"sqlite:///{tmp_path / 'race.db'}"
    study = optuna.create_study(study_name="race", storage=url)
    for _ in range(40):
        study.enqueue_trial({})
    command = [sys.executable, "-c", GRABBER, url]
    grabbers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [g.communicate(timeout=300) for g in grabbers]
    assert [g.returncode for g in grabbers] == [0, 0, 0, 0], "".join(err[-1500:] for _, err in outputs)
    taken = [int(line) for out, _ in outputs for line in out.split()]
    assert sorted(taken)[:40] == list(range(40)) and len(set(taken)) == len(taken)  # each queued trial taken once
    assert {t.state.name for t in study.get_trials() if t.number < 40} == {"COMPLETE"}


@pytest.mark.parametrize("damage", ["not-sqlite", "read-only-file", "read-only-folder"])
def test_a_damaged_or_read_only_study_is_one_line_and_changes_nothing(tmp_path, data_dir, capsys, damage):
    args = sweep_args(tmp_path, data_dir, write_space(tmp_path), 1)
    folder = tmp_path / "runs" / "sweeps" / "space"
    folder.mkdir(parents=True)
    db = folder / "study.db"
    if damage == "not-sqlite":
        db.write_text("text an editor saved over the study\n")
    else:
        optuna.create_study(study_name="space", storage=f"sqlite:///{db}", direction="maximize")
        (db if damage == "read-only-file" else folder).chmod(0o444 if damage == "read-only-file" else 0o555)
    before = sorted((p.relative_to(tmp_path).as_posix(), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli(["sweep", *args])
    finally:
        folder.chmod(0o755)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    expected = {
        "not-sqlite": f"error: {db} is not an SQLite database (damaged, or another kind of file): move it aside to "
        "start the study again, or give another --study.",
        "read-only-file": f"error: {db} is read-only: make it writable (chmod u+w {db}), or give another --study.",
        "read-only-folder": f"error: {folder}/ is read-only (SQLite writes its journal there): make it writable, or "
        "move it.",
    }
    assert err.strip().splitlines() == [expected[damage]]
    after = sorted((p.relative_to(tmp_path).as_posix(), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    assert after == before
