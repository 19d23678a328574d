"""`sweep`: an Optuna study whose trials are ordinary `train` runs, kept in a database so that it survives a crash.

runs/sweeps/<study>/study.db       the study (SQLite), unless --storage / SWEEP_STORAGE names another RDB (PostgreSQL)
runs/sweeps/<study>/trial-NNN/     one ordinary run folder per trial: config, logs, val_metrics.json
configs/tuned/<study>.yaml         the best trial's values, a preset: `make train ARGS="--config configs/tuned/..."`
runs/sweep-<study>-NNN/            the final training with that preset: the only run that reads the test split
runs/sweep-<study>-NNN/sweep.json  every trial of the study, for the sweep section of `report`

Trials select on validation macro-F1 and never open the test split (data.read_test=false). A trial is pruned when
its per-epoch validation score falls behind (the space's pruner).

Crash and scale-out: when the study is created its whole budget is queued as N waiting trials; every worker (this
process, another one on the same machine, a job on a cluster) takes one queued trial at a time, and the storage
hands each to exactly one worker. A worker keeps a heartbeat while it trains; when a worker dies, the next one to look
marks its trial failed and queues it again with the same values. Running the same command again therefore continues
the study: finished trials are kept, none is repeated, the killed one is retried.
"""

import argparse
import contextlib
import fcntl
import json
import os
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import ArgumentParser, UserError
from .files import write_json, write_text
from .project import prog

METRIC = "val/f1_macro"  # reported per epoch to the pruner
SCORE = "best_val_f1_macro"  # what train returns: the best epoch's validation macro-F1
STORAGE_ENV = "SWEEP_STORAGE"
WORKER = f"{socket.gethostname()}:{os.getpid()}"
DISTRIBUTIONS = {"float": ("low", "high", "log", "step"), "int": ("low", "high", "log", "step"), "categorical": ()}
FORBIDDEN = {"--run_name": "the sweep names its trials", "--runs_dir": "use the sweep's --runs_dir",
             "--resume": "a sweep continues when you run the same command again"}  # fmt: skip


class SurplusTrial(Exception):
    """A trial Optuna created beyond the queued budget: two workers raced for the last queued trial, and the loser's
    `optimize` made a new one. It is failed at once, marked `surplus`, never trained and left out of every table."""


@dataclass
class Space:
    """A search space file: `params` (config key -> distribution), and the sampler and pruner to use."""

    path: Path
    params: dict[str, dict]
    sampler: dict
    pruner: dict


def load_space(path: str | Path) -> Space:
    """Read and check a search space YAML (configs/sweep/*.yaml); every mistake is one UserError."""
    path = Path(path)
    if not path.is_file():
        known = sorted(str(p) for p in Path("configs/sweep").glob("*.yaml"))
        raise UserError(
            f"no search space {path}: pass SPACE=configs/sweep/<name>.yaml ({', '.join(known) or 'none here'}) or "
            "write one like configs/sweep/bow.yaml."
        )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML ({err}).".replace("\n", " ")) from None
    params = doc.get("params") if isinstance(doc, dict) else None
    if not isinstance(params, dict) or not params:
        raise UserError(f"{path} has no `params:` mapping: list the config keys to tune, e.g. `model.lr: ...`.")
    for key, spec in params.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in DISTRIBUTIONS:
            raise UserError(f"{path}: {key} needs `type: float`, `int` or `categorical` (got {spec!r}).")
        if not str(key).startswith(("model.", "data.", "trainer.")):
            raise UserError(f"{path}: {key} is not a model., data. or trainer. option: name it as on the command line.")
        if kind == "categorical":
            if not isinstance(spec.get("choices"), list) or not spec["choices"]:
                raise UserError(f"{path}: {key} is categorical but has no `choices:` list.")
        elif not all(isinstance(spec.get(b), int | float) for b in ("low", "high")) or spec["low"] >= spec["high"]:
            raise UserError(f"{path}: {key} needs numbers `low` < `high` (got {spec!r}).")
        unknown = set(spec) - {"type", "choices", *DISTRIBUTIONS[kind]}
        if unknown:
            raise UserError(f"{path}: {key} has unknown fields {sorted(unknown)} for a {kind} parameter.")
    return Space(path, params, dict(doc.get("sampler") or {"name": "tpe"}), dict(doc.get("pruner") or {"name": "none"}))


def suggest(trial, key: str, spec: dict):
    """One value for config key `key` from the trial, by the space's distribution."""
    if spec["type"] == "categorical":
        return trial.suggest_categorical(key, spec["choices"])
    options = {k: spec[k] for k in ("log", "step") if k in spec}
    if spec["type"] == "int":
        return trial.suggest_int(key, int(spec["low"]), int(spec["high"]), **options)
    return trial.suggest_float(key, float(spec["low"]), float(spec["high"]), **options)


def sampler_and_pruner(space: Space):
    """The Optuna sampler and pruner the space names, e.g. `sampler: {name: tpe, seed: 0}`."""
    import optuna

    samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    pruners = {
        "median": optuna.pruners.MedianPruner,
        "percentile": optuna.pruners.PercentilePruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "threshold": optuna.pruners.ThresholdPruner,
        "none": optuna.pruners.NopPruner,
    }
    built = []
    for what, table, spec in (("sampler", samplers, space.sampler), ("pruner", pruners, space.pruner)):
        options = {k: v for k, v in spec.items() if k != "name"}
        name = spec.get("name")
        if name not in table:
            raise UserError(f"{space.path}: {what} name {name!r} is not one of {', '.join(table)}.")
        if what == "sampler" and name == "tpe":
            options.setdefault("constant_liar", True)  # parallel workers: count running trials as poor ones
        try:
            built.append(table[name](**options))
        except (TypeError, ValueError) as err:
            raise UserError(f"{space.path}: {what} {name} does not take {options} ({err}).") from None
    return tuple(built)


def storage_url(given: str | None, sweep_dir: Path) -> str:
    """The study's database: --storage, else $SWEEP_STORAGE (.env), else a SQLite file in the sweep folder.

    A password on the command line is refused: the command line is recorded in every run's manifest. A PostgreSQL URL
    without a driver (postgresql://, or postgres:// as hosting services write it) gets psycopg 3, the driver the
    library's `train` extra installs (SQLAlchemy before 2.1 would look for psycopg2).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    url = given or os.environ.get(STORAGE_ENV) or f"sqlite:///{(sweep_dir / 'study.db').resolve()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"{redact(url)} is not a database URL: use e.g. postgresql://user@host/db.") from None
    if given and parsed.password:
        raise UserError(
            f"the storage URL {redact(url)} holds a password: put it in {STORAGE_ENV} in .env instead (the command "
            "line is recorded in every run's manifest)."
        )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        url = parsed.render_as_string(hide_password=False)
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise UserError(
            f"the storage URL {redact(url)} names no database SQLAlchemy knows ({parsed.drivername}): use "
            "postgresql://user@host/db, or sqlite:///path/to/study.db."
        ) from None
    return url


def redact(url: str) -> str:
    """A database URL with its password replaced by ***, for messages and files."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable storage URL)"


CONNECT_TIMEOUT = 10  # seconds: a server that does not answer (a firewall drops the packets) is an error, not a hang
DRIVERS = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary", "mysqldb": "mysqlclient"}  # pip names
SCHEMA_LOCK = 0x6F7074756E61  # pg_advisory_lock key ("optuna") held while a worker creates or checks the tables


def open_storage(url: str, heartbeat: int):
    """Optuna's RDB storage with a heartbeat, so that the trials of a killed worker are failed and queued again.

    Every mistake in reaching the database (server down, wrong host, password or database, no driver) is one UserError
    that names the URL without its password and what to fix.
    """
    import optuna
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database not in (None, "", ":memory:"):
        check_sqlite_file(Path(parsed.database))
    postgres = parsed.get_backend_name() == "postgresql"
    kwargs: dict = {"connect_args": {"timeout": 60}} if sqlite else {"pool_pre_ping": True}
    if postgres and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    for attempt in range(5):
        try:
            with schema_lock(url, kwargs) if postgres else contextlib.nullcontext():
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=kwargs,
                    heartbeat_interval=heartbeat,
                    grace_period=3 * heartbeat,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
                )
            break
        except OperationalError as err:
            # Two workers creating a new SQLite file at once: the loser finds it locked or half made; try again.
            if attempt == 4 or not sqlite:
                reason = " ".join(str(err.orig).split())  # libpq's messages run over several lines
                fix = storage_fix(reason, sqlite)
                raise UserError(f"cannot open the study storage {redact(url)} ({reason}): {fix}") from None
            time.sleep(0.5 + attempt)
        except ImportError:
            # Optuna re-raises the driver's ImportError without its name; the URL's dialect names the driver.
            driver = parsed.get_dialect().driver
            package = DRIVERS.get(driver, driver)
            message = f"the storage {redact(url)} needs the database driver {driver}: pip install {package}."
            raise UserError(message) from None
    if sqlite:
        serialize(storage.engine)
    return storage


SQLITE_HEADER = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """A study file must be SQLite and writable, with its folder (SQLite writes its journal beside it): a damaged or
    read-only one would fail deep inside Optuna, in a traceback that blames something else."""
    if path.is_file():
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            raise UserError(
                f"{path} is not an SQLite database (damaged, or another kind of file): move it aside to start the "
                "study again, or give another --study."
            )
        if not writable(path):
            raise UserError(f"{path} is read-only: make it writable (chmod u+w {path}), or give another --study.")
    folder = path.parent
    if folder.is_dir() and not writable(folder):
        raise UserError(f"{folder}/ is read-only (SQLite writes its journal there): make it writable, or move it.")


def writable(path: Path) -> bool:
    """Whether `path` may be written: its mode says so (root ignores the mode, but a file made read-only on purpose
    stays so) and the system agrees (read-only mounts, immutable files)."""
    if not path.stat().st_mode & 0o222 or not os.access(path, os.W_OK):
        return False
    if path.is_dir():
        return True
    try:
        with path.open("r+b"):
            return True
    except OSError:
        return False


def storage_fix(reason: str, sqlite: bool) -> str:
    """What to do about a database that refused or never answered, from the driver's reason."""
    if sqlite:
        return "keep the sweep on a local disk (SQLite locks are unreliable on network filesystems), or use PostgreSQL."
    if "password" in reason:
        return f"check the password: it goes in the URL in {STORAGE_ENV} in .env (postgresql://user:password@host/db)."
    if "does not exist" in reason:
        return "create the database and user first (createdb -h HOST -U USER DB), or fix their names in the URL."
    return (
        "start the database server, or fix the host and port in the URL; the server must accept connections from this "
        "machine (PostgreSQL: listen_addresses and pg_hba.conf)."
    )


@contextlib.contextmanager
def schema_lock(url: str, kwargs: dict):
    """PostgreSQL: one worker at a time creates (or checks) Optuna's tables, under a session advisory lock.

    Workers started together on a new database each run CREATE TABLE / CREATE TYPE, and all but one fail with
    `duplicate key value violates unique constraint "pg_type_typname_nsp_index"` or `relation already exists`.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(url, **kwargs)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
    finally:
        engine.dispose()


def serialize(engine) -> None:
    """Every SQLite transaction takes the write lock when it begins (BEGIN IMMEDIATE), not at its first write.

    Optuna hands a queued trial to a worker, and fails a stale one, by reading its state and then writing the new one.
    PostgreSQL locks the row in between (SELECT ... FOR UPDATE); SQLite does not, and without this two workers can
    take the same queued trial and train it twice, or both queue a retry of the same killed trial.
    """
    from sqlalchemy import event

    event.listen(engine, "connect", lambda dbapi, record: setattr(dbapi, "isolation_level", None))
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    engine.dispose()  # connections opened before the listeners existed are closed


def open_study(storage, name: str, n_trials: int, setup: dict, sampler, pruner):
    """Create the study and queue its budget, or load it; refuse a study that was started with other options."""
    import optuna

    try:
        study = optuna.create_study(
            storage=storage, study_name=name, direction="maximize", sampler=sampler, pruner=pruner
        )
        study.set_user_attr("setup", setup)
        for _ in range(n_trials):
            study.enqueue_trial({}, user_attrs={"queued": True})
        study.set_user_attr("n_trials", n_trials)  # last: other workers wait for it, so the queue is complete
        return study
    except optuna.exceptions.DuplicatedStudyError:
        # The seeded sampler repeats its draws: a second worker (or a restart) with the same seed would try the values
        # the first one already tried. Only the study's creator keeps the seed, so a one-worker sweep is reproducible.
        sampler.reseed_rng()
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    for _ in range(600):  # the worker that created the study may still be queueing its trials
        if "n_trials" in study.user_attrs:
            break
        time.sleep(0.2)
    else:
        raise UserError(f"study {name} exists but was never set up (its creator died early): delete it or rename.")
    if study.user_attrs["setup"] != setup:
        then = study.user_attrs["setup"]
        raise UserError(
            f"study {name} was started with other training options or another search space ({' '.join(then['args'])}"
            f" | space {then['space_file']}): run it with those, or start a new study with STUDY=<another name>."
        )
    queued = study.user_attrs["n_trials"]
    if n_trials > queued:  # a larger N on a later run: queue the difference
        for _ in range(n_trials - queued):
            study.enqueue_trial({}, user_attrs={"queued": True})
        study.set_user_attr("n_trials", n_trials)
    return study


def state_counts(study) -> dict[str, int]:
    """How many trials of the study are in each state, by state name."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def pruning_callback(trial):
    """A Lightning callback that reports validation macro-F1 to the trial each epoch and prunes when told."""
    import optuna
    from lightning.pytorch.callbacks import Callback

    class PruneOnValidation(Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            score = trainer.callback_metrics.get(METRIC)
            if trainer.sanity_checking or score is None:
                return
            trial.report(float(score), trainer.current_epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"validation macro-F1 {float(score):.4f} at epoch {trainer.current_epoch}")

    return PruneOnValidation()


def overrides(params: dict) -> list[str]:
    """`{"model.lr": 0.1}` -> `["--model.lr", "0.1"]`, values written as JSON (what the config parser reads)."""
    return [
        arg
        for key, value in params.items()
        for arg in (f"--{key}", value if isinstance(value, str) else json.dumps(value))
    ]


def nested(params: dict) -> dict:
    """`{"model.lr": 0.1}` -> `{"model": {"lr": 0.1}}`: the shape of a config file."""
    out: dict = {}
    for key, value in params.items():
        *groups, leaf = key.split(".")
        node = out
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = value
    return out


@dataclass
class Sweep:
    """Everything a worker needs: the training options shared by all trials, where things go, the space."""

    name: str
    space: Space
    train_args: list[str]
    runs_dir: Path
    preset_dir: Path
    n_trials: int
    keep_checkpoints: bool = False
    trained: int = 0  # trials this worker trained (a surplus trial is not one)

    @property
    def folder(self) -> Path:
        """runs/sweeps/<study>: the trial run folders (and the SQLite study)."""
        return self.runs_dir / "sweeps" / self.name

    def objective(self, trial) -> float:
        """Train one trial as an ordinary run without the test split; its score is the best validation macro-F1."""
        if not trial.user_attrs.get("queued"):
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number} is beyond the budget of {self.n_trials}: not run")
        from .runner import train

        self.trained += 1
        params = {key: suggest(trial, key, spec) for key, spec in self.space.params.items()}
        run = f"trial-{trial.number:03d}"
        trial.set_user_attr("run", run)
        trial.set_user_attr("worker", WORKER)
        args = [*self.train_args, *overrides(params), "--data.read_test", "false"]
        args += ["--runs_dir", str(self.folder), "--run_name", run, "--tracking.group", self.name]
        try:  # the final training retrains the best values: trials save no weights unless asked to
            result = train(args, callbacks=[pruning_callback(trial)], checkpoints=self.keep_checkpoints)
        finally:
            close_wandb(trial.number, params)
        if result.get(SCORE) is None:
            raise UserError(f"trial {trial.number} ended without a validation score: do not sweep a fast_dev_run.")
        return result[SCORE]


def close_wandb(number: int, params: dict) -> None:
    """Finish the trial's W&B run (when tracking is on) with the trial's number and values in its config."""
    wandb = sys.modules.get("wandb")
    if wandb is None or wandb.run is None:
        return
    wandb.run.config.update({"sweep": {"trial": number, "params": params}}, allow_val_change=True)
    wandb.finish()


def work(sweep: Sweep, study, heartbeat: int) -> int:
    """Run queued trials until the study has `n_trials` finished ones; return how many this worker trained."""
    import optuna

    while True:
        optuna.storages.fail_stale_trials(study)  # a killed worker's trial -> FAIL, and queued again
        counts = state_counts(study)
        finished = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
        running, waiting = counts.get("RUNNING", 0), counts.get("WAITING", 0)
        if finished >= sweep.n_trials:
            return sweep.trained
        if waiting and finished + running < sweep.n_trials:
            try:
                study.optimize(sweep.objective, n_trials=1, catch=(SurplusTrial,), gc_after_trial=True)
            except ValueError as err:
                if not str(err).startswith("Cannot tell a"):
                    study.enqueue_trial({}, user_attrs={"queued": True})
                    raise
                # Our heartbeat was so late that another worker took this trial for dead and queued it again.
                print(f"warning: {err}: it is being retried; raise --heartbeat on a machine this busy", file=sys.stderr)
            except Exception:
                study.enqueue_trial({}, user_attrs={"queued": True})  # the slot goes back; a rerun samples anew
                raise
        elif running:
            time.sleep(heartbeat)  # other workers' trials, or a killed one that is not stale yet
        else:  # nothing running or queued: trials lost to errors or to more retries than allowed
            # Look again a heartbeat later before queueing their places: a worker that has just failed a dead worker's
            # trial queues its retry a moment after, and a place queued in between would be trained beyond the budget.
            time.sleep(heartbeat)
            counts = state_counts(study)
            if not counts.get("RUNNING") and not counts.get("WAITING"):
                for _ in range(sweep.n_trials - counts.get("COMPLETE", 0) - counts.get("PRUNED", 0)):
                    study.enqueue_trial({}, user_attrs={"queued": True})


def trial_record(trial) -> dict:
    """One trial as plain JSON: what the report's table and figures are drawn from."""
    from optuna.distributions import distribution_to_json

    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "params": trial.params,
        "distributions": {k: distribution_to_json(d) for k, d in trial.distributions.items()},
        "intermediate_values": {str(k): v for k, v in sorted(trial.intermediate_values.items())},
        "run": trial.user_attrs.get("run"),
        "retry_of": trial.system_attrs.get("failed_trial"),
        "surplus": bool(trial.user_attrs.get("surplus")),
        "started": trial.datetime_start.isoformat(timespec="seconds") if trial.datetime_start else None,
        "seconds": (trial.datetime_complete - trial.datetime_start).total_seconds()
        if trial.datetime_complete and trial.datetime_start
        else None,
    }


def write_preset(sweep: Sweep, best, counts: dict) -> Path:
    """configs/tuned/<study>.yaml: the best trial's values as a config file `train` takes after the presets."""
    path = sweep.preset_dir / f"{sweep.name}.yaml"
    header = (
        f"# Chosen by the Optuna sweep {sweep.name!r} ({sweep.space.path}) on the validation split only: trial "
        f"{best.number},\n# the best of {counts.get('COMPLETE', 0)} completed trials ({counts.get('PRUNED', 0)} more "
        f"pruned), validation macro-F1 {best.value:.4f}.\n"
        f"# Tuned on top of: {' '.join(sweep.train_args) or '(the defaults)'}\n"
        f'# Train with it: make train ARGS="--config {path}" (with the same DATA/MODEL/TRAINER as the sweep)\n'
    )
    write_text(path, header + yaml.safe_dump(nested(best.params), sort_keys=False))
    return path


def final(sweep: Sweep, study, storage: str) -> dict | None:
    """Write the preset and train it once with the test split: the sweep's one look at test. One worker does it."""
    from optuna.trial import TrialState

    from .runner import train

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise UserError(
            f"no trial of study {sweep.name} completed (all pruned or failed): widen the space, or loosen the "
            f"pruner in {sweep.space.path}."
        )
    best = study.best_trial
    counts = state_counts(study)
    run = f"sweep-{sweep.name}-{best.number:03d}"
    run_dir = sweep.runs_dir / run
    # flock: released by the kernel when its process dies, so a killed final training never blocks a rerun.
    lock = (sweep.folder / "final.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"sweep {sweep.name}: another worker is training the best configuration ({run_dir})")
        return None
    try:
        done = json.loads((run_dir / "sweep.json").read_text()) if (run_dir / "sweep.json").is_file() else None
        if done and done["n_trials"] == sweep.n_trials:
            print(f"sweep {sweep.name}: finished; best trial {best.number}, final run {run_dir}")
            return done
        preset = write_preset(sweep, best, counts)
        args = [*sweep.train_args, "--config", str(preset), "--runs_dir", str(sweep.runs_dir), "--run_name", run]
        args += ["--tracking.group", sweep.name]
        if (run_dir / "checkpoints" / "last.ckpt").is_file():
            args += ["--resume", run]  # a final training killed earlier continues from its last epoch
        print(f"sweep {sweep.name}: training the best configuration (trial {best.number}) once, with the test split")
        test = train(args)
        trials = [trial_record(t) for t in study.get_trials(deepcopy=False)]
        summary = {
            "study": sweep.name,
            "storage": redact(storage),
            "space": str(sweep.space.path),
            "space_params": sweep.space.params,
            "sampler": sweep.space.sampler,
            "pruner": sweep.space.pruner,
            "n_trials": sweep.n_trials,
            "train_args": sweep.train_args,
            "preset": str(preset),
            "best": {"number": best.number, "value": best.value, "params": best.params, "run": best.user_attrs["run"]},
            "trials_folder": str(sweep.folder),
            "trial_seconds": round(sum(t["seconds"] or 0 for t in trials), 1),
            "final": {"run": run, "test": test},
            "trials": trials,
        }
        write_json(run_dir / "sweep.json", summary)
        print(
            f"sweep {sweep.name}: best trial {best.number} (validation macro-F1 {best.value:.4f}); final run "
            f"{run_dir}: test macro-F1 {test.get('test/f1_macro', float('nan')):.4f}\n"
            f"  preset: {preset}\n  `make report` writes its results page with the sweep section"
        )
        return summary
    finally:
        lock.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sweep's own options; everything else is passed to every trial's `train`."""
    parser.add_argument("--space", required=True, help="search space YAML, e.g. configs/sweep/bow.yaml")
    parser.add_argument("--n_trials", type=int, default=20, help="finished trials the study should reach")
    parser.add_argument("--study", default=None, help="study name (default: the space file's name)")
    parser.add_argument("--storage", default=None, help=f"RDB URL (default: ${STORAGE_ENV}, else SQLite in the folder)")
    parser.add_argument("--runs_dir", default="runs", help="trials go to RUNS_DIR/sweeps/<study>/, the final run here")
    parser.add_argument("--preset_dir", default="configs/tuned", help="where the best configuration is written")
    parser.add_argument("--final", default="true", choices=["true", "false"], help="train the best config at the end")
    parser.add_argument(
        "--heartbeat", type=int, default=20, help="seconds between heartbeats; a trial silent 3x that long is retried"
    )
    parser.add_argument("--keep_checkpoints", default="false", choices=["true", "false"], help="keep trial weights")


def main(argv: list[str]) -> dict | None:
    """`sweep --space FILE [--n_trials N] [--study NAME] [--storage URL] ... TRAIN OPTIONS`."""
    parser = ArgumentParser(
        prog=prog("sweep"),
        allow_abbrev=False,
        description="Optuna sweep: trials are `train` runs scored on validation; the best is trained once more.",
        epilog="Other options (--config, --data.*, --model.*, --trainer.*) go to every trial's `train`.",
    )
    add_arguments(parser)
    args, train_args = parser.parse_known_args(argv)
    for arg in train_args:
        if arg.split("=")[0] in FORBIDDEN:
            raise UserError(f"{arg.split('=')[0]} cannot be given to a sweep: {FORBIDDEN[arg.split('=')[0]]}.")
    if args.n_trials < 1 or args.heartbeat < 1:
        raise UserError("--n_trials and --heartbeat must be at least 1.")
    from .checks import config_files

    config_files(train_args)  # a preset-name typo is answered before any trial starts
    space = load_space(args.space)
    sweep = Sweep(
        name=args.study or space.path.stem,
        space=space,
        train_args=train_args,
        runs_dir=Path(args.runs_dir),
        preset_dir=Path(args.preset_dir),
        n_trials=args.n_trials,
        keep_checkpoints=args.keep_checkpoints == "true",
    )
    import optuna
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # heartbeats and PED-ANOVA are "experimental"
    sampler, pruner = sampler_and_pruner(space)
    sweep.folder.mkdir(parents=True, exist_ok=True)
    url = storage_url(args.storage, sweep.folder)
    setup = {"args": train_args, "space_file": str(space.path), "params": space.params}
    study = open_study(open_storage(url, args.heartbeat), sweep.name, args.n_trials, setup, sampler, pruner)
    print(f"sweep {sweep.name}: {args.n_trials} trials in {redact(url)}, worker {WORKER}; {state_counts(study)}")
    optuna.logging.set_verbosity(optuna.logging.INFO)
    ran = work(sweep, study, args.heartbeat)
    print(f"sweep {sweep.name}: this worker ran {ran} trial(s); the study has {state_counts(study)}")
    if args.final == "false":
        print(f"sweep {sweep.name}: --final false: the same command with --final true trains the best configuration")
        return None
    return final(sweep, study, url)
