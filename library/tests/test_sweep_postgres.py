"""`sweep` on a real PostgreSQL server started here: three workers share one study, one is killed mid-trial.

The server is Debian's (PostgreSQL 15 on Debian 12; `make test` installs it: the kit's `postgres` target), set up by
`initdb` and `pg_ctl` in a temporary folder, listening on 127.0.0.1 only, with password authentication, and removed at
the end.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import psycopg
import pytest
from dl_portfolio.cli import main as cli

from .test_sweep import NO_EPOCHS, PKG, sweep_args, write_space

pytestmark = pytest.mark.serial  # workers race and one is killed mid-trial: `make test` runs this module alone

USER, PASSWORD, DATABASE = "optuna", "pg-test-secret", "sweeps"
N = 6  # trials the study must finish
EPOCHS = 3


def server_program(name: str) -> str | None:
    """initdb / pg_ctl: on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest version)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    return versions[-1] if versions else None


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user (made when missing)."""
    if os.geteuid() != 0:
        return command
    if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], check=True
        )
    return ["runuser", "-u", "postgres", "--", *command]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of this module's own on 127.0.0.1:<free port> with user optuna (password) and database
    sweeps; yields the port, stopped and removed afterwards."""
    initdb, pg_ctl = server_program("initdb"), server_program("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail(
                "the PostgreSQL server is not installed: `make test` installs it (Debian package `postgresql`)."
            )
        pytest.skip("the PostgreSQL server is not installed: run `make test` (or `make postgres`), which installs it.")
    folder = Path(tempfile.mkdtemp(prefix="dl-portfolio-pg-"))  # not under pytest's root-only tmp folders
    data, log, password = folder / "data", folder / "server.log", folder / "password"
    password.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        as_server_user(["true"])  # the user exists from here on
        shutil.chown(folder, "postgres")
        shutil.chown(password, "postgres")
    try:
        subprocess.run(
            as_server_user([initdb, "-D", str(data), "-U", USER, "--pwfile", str(password), "--auth", "scram-sha-256",
                            "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip
        for _ in range(5):  # another process may take the free port before the server does
            port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
            started = subprocess.run(
                as_server_user([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]),
                capture_output=True, text=True,
            )  # fmt: skip
            if started.returncode == 0:
                break
        else:
            pytest.fail(f"PostgreSQL did not start: {started.stdout}{started.stderr}{log.read_text()[-2000:]}")
        with psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, dbname="postgres") as c:
            c.autocommit = True
            c.execute(f"CREATE DATABASE {DATABASE}")
        yield port
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True
            )
        shutil.rmtree(folder, ignore_errors=True)


def url(port: int, password: str | None = PASSWORD, database: str = DATABASE) -> str:
    """The storage URL as a project writes it (psycopg 3 is the driver the sweep gives postgresql://)."""
    return f"postgresql://{USER}{':' + password if password else ''}@127.0.0.1:{port}/{database}"


def running_trials(port: int) -> list[tuple[int, int, int]]:
    """(trial number, worker pid, epochs reported) of each RUNNING trial, read from Optuna's tables."""
    with psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, dbname=DATABASE) as c:
        rows = c.execute(
            "SELECT t.number, a.value_json, (SELECT count(*) FROM trial_intermediate_values v "
            "WHERE v.trial_id = t.trial_id) FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id "
            "AND a.key = 'worker' WHERE t.state = 'RUNNING'"
        ).fetchall()
    return [(number, int(json.loads(worker).rsplit(":", 1)[1]), epochs) for number, worker, epochs in rows]


def kill_mid_trial(port: int, workers: list[subprocess.Popen], timeout: float = 150) -> tuple[int, int]:
    """SIGKILL a worker while its trial is RUNNING between its first and last epoch; (trial number, pid).

    The worker is stopped (SIGSTOP) first and its trial read again: a frozen worker cannot finish the trial between the
    look and the kill."""
    pids = {w.pid for w in workers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            assert w.poll() is None, w.communicate()[0][-3000:]
        try:
            candidates = [(n, pid) for n, pid, epochs in running_trials(port) if 1 <= epochs < EPOCHS and pid in pids]
        except psycopg.errors.UndefinedTable:  # the first worker is still creating the tables
            candidates = []
        for number, pid in candidates:
            os.kill(pid, signal.SIGSTOP)
            if any(n == number and 1 <= epochs < EPOCHS for n, _, epochs in running_trials(port)):
                os.kill(pid, signal.SIGKILL)
                return number, pid
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("no trial was ever seen mid-way")


def test_three_workers_on_postgresql_one_killed_mid_trial_finish_exactly_n_trials(postgres, tmp_path, data_dir):
    # The same command on three "machines" (folders; runs/ is shared, as on a cluster). Two read the URL with its
    # password from .env as SWEEP_STORAGE; the third is given a URL without one (`make sweep STORAGE=...`) and libpq
    # finds the password in its ~/.pgpass (here PGPASSFILE).
    args = sweep_args(tmp_path, data_dir, write_space(tmp_path, params=NO_EPOCHS), N, "--trainer.max_epochs", "3")
    command = [sys.executable, "-m", PKG, "sweep", *args, "--study", "pg"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # three workers on a small machine
    machines = [tmp_path / f"machine{i}" for i in range(3)]
    for machine in machines[:2]:
        machine.mkdir()
        (machine / ".env").write_text(f"SWEEP_STORAGE={url(postgres)}\n")
    machines[2].mkdir()
    (machines[2] / ".pgpass").write_text(f"127.0.0.1:{postgres}:{DATABASE}:{USER}:{PASSWORD}\n")
    (machines[2] / ".pgpass").chmod(0o600)
    pgpass = {**env, "PGPASSFILE": str(machines[2] / ".pgpass")}
    launches = [([], env), ([], env), (["--storage", url(postgres, password=None)], pgpass)]
    workers = [
        subprocess.Popen(
            command + extra, cwd=machine, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for machine, (extra, e) in zip(machines, launches, strict=True)
    ]
    try:
        killed_number, killed_pid = kill_mid_trial(postgres, workers)
        outputs = {w.pid: w.communicate(timeout=240)[0] for w in workers}
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    survivors = [w for w in workers if w.pid != killed_pid]
    assert [w.returncode for w in workers if w.pid == killed_pid] == [-signal.SIGKILL]
    assert [w.returncode for w in survivors] == [0, 0], "".join(outputs[w.pid][-2000:] for w in survivors)
    shown = [
        f"postgresql+psycopg://{USER}{password}@127.0.0.1:{postgres}/{DATABASE}" for password in (":***", ":***", "")
    ]
    for w, storage in zip(workers, shown, strict=True):  # the killed worker's output up to its kill included
        assert f"\nsweep pg: {N} trials in {storage}, worker " in "\n" + outputs[w.pid]
    assert sum("A new study created in RDB with name: pg" in out for out in outputs.values()) == 1  # the others load it

    study = optuna.load_study(study_name="pg", storage=url(postgres))
    everything = study.get_trials()
    # Racing for the last queued trial, a losing worker's Optuna may create one empty trial: failed, never trained.
    surplus = [t for t in everything if t.user_attrs.get("surplus")]
    assert all(t.state.name == "FAIL" and not t.params and t.number >= N for t in surplus)
    trials = [t for t in everything if t not in surplus]
    numbers = [t.number for t in trials]
    assert numbers[:N] == list(range(N)) and len(numbers) == N + 1  # the N queued trials, and one retry
    states = {t.number: t.state.name for t in trials}
    assert states[killed_number] == "FAIL"
    assert sorted(n for n, s in states.items() if s == "COMPLETE") == sorted(set(numbers) - {killed_number})
    assert len([t for t in everything if t.state.name in ("COMPLETE", "PRUNED")]) == N  # exactly N finished
    finished = [t for t in trials if t.state.name == "COMPLETE"]
    assert len({tuple(sorted(t.params.items())) for t in finished}) == N  # no values trained twice
    killed = trials[numbers.index(killed_number)]
    assert killed.user_attrs["worker"].endswith(f":{killed_pid}") and 1 <= len(killed.intermediate_values) < EPOCHS
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == killed_number]
    assert len(retry) == 1 and retry[0].number >= N and retry[0].state.name == "COMPLETE"
    assert retry[0].params == killed.params and retry[0].user_attrs["worker"] != killed.user_attrs["worker"]

    # Each survivor's count is the trials the database gives to it; the killed worker's finished ones are kept.
    for w in survivors:
        ran = int(outputs[w.pid].split("this worker ran ")[1].split()[0])
        assert ran == sum(t.user_attrs["worker"].endswith(f":{w.pid}") for t in trials)
    assert {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials} <= {str(w.pid) for w in workers}
    folder = tmp_path / "runs" / "sweeps" / "pg"
    assert sorted(p.name for p in folder.glob("trial-*")) == [f"trial-{n:03d}" for n in sorted(numbers)]
    for number in numbers:  # every trial trained once: one log attempt each; the killed one wrote no score
        logs = folder / f"trial-{number:03d}" / "logs"
        assert [p.name for p in logs.iterdir()] == ["attempt_0"]
        assert (logs.parent / "val_metrics.json").is_file() == (number != killed_number)

    # One survivor trains the best values once with the test split; the other finds it done or under way.
    finalists = [i for i, w in enumerate(workers) if "once, with the test split" in outputs[w.pid]]
    assert len(finalists) == 1 and workers[finalists[0]] in survivors
    best = study.best_trial
    final = tmp_path / "runs" / f"sweep-pg-{best.number:03d}"
    summary = json.loads((final / "sweep.json").read_text())
    assert summary["storage"] == shown[finalists[0]] and summary["n_trials"] == N
    assert len(summary["trials"]) == len(everything)
    assert (final / "test_metrics.json").is_file()
    leaked = [p for p in (tmp_path / "runs").rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaked == []  # the password stays in .env: no manifest, log or summary records it


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "wrong password",
            "error: cannot open the study storage postgresql+psycopg://optuna:***@127.0.0.1:{port}/sweeps (connection "
            'failed: connection to server at "127.0.0.1", port {port} failed: FATAL: password authentication failed '
            'for user "optuna"): check the password: it goes in the URL in SWEEP_STORAGE in .env '
            "(postgresql://user:password@host/db).",
        ),
        (
            "no password",
            "error: cannot open the study storage postgresql+psycopg://optuna@127.0.0.1:{port}/sweeps (connection "
            'failed: connection to server at "127.0.0.1", port {port} failed: fe_sendauth: no password supplied): '
            "check the password: it goes in the URL in SWEEP_STORAGE in .env (postgresql://user:password@host/db).",
        ),
        (
            "no database",
            "error: cannot open the study storage postgresql+psycopg://optuna:***@127.0.0.1:{port}/nope (connection "
            'failed: connection to server at "127.0.0.1", port {port} failed: FATAL: database "nope" does not exist): '
            "create the database and user first (createdb -h HOST -U USER DB), or fix their names in the URL.",
        ),
        (
            "server down",
            "error: cannot open the study storage postgresql+psycopg://optuna:***@127.0.0.1:{port}/sweeps (connection "
            'failed: connection to server at "127.0.0.1", port {port} failed: Connection refused Is the server running '
            "on that host and accepting TCP/IP connections?): start the database server, or fix the host and port in "
            "the URL; the server must accept connections from this machine (PostgreSQL: listen_addresses and "
            "pg_hba.conf).",
        ),
        (
            "silent server",
            "error: cannot open the study storage postgresql+psycopg://optuna:***@127.0.0.1:{port}/sweeps"
            "?connect_timeout=1 (connection timeout expired): start the database server, or fix the host and port in "
            "the URL; the server must accept connections from this machine (PostgreSQL: listen_addresses and "
            "pg_hba.conf).",
        ),
        (
            "no driver",
            "error: the storage postgresql+psycopg2://optuna:***@127.0.0.1:{port}/sweeps needs the database driver "
            "psycopg2: pip install psycopg2-binary.",
        ),
        (
            "misspelt",
            "error: the storage URL postgresq://optuna:***@127.0.0.1:{port}/sweeps names no database SQLAlchemy knows "
            "(postgresq): use postgresql://user@host/db, or sqlite:///path/to/study.db.",
        ),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_without_the_password(
    postgres, tmp_path, data_dir, capsys, monkeypatch, case, message
):
    port = postgres
    listener = None
    given = None
    if case == "wrong password":
        storage = url(port, password="wrong-" + PASSWORD)
    elif case == "no password":  # --storage: a URL without a password (the command line may not hold one)
        storage, given = None, url(port, password=None)
    elif case == "no database":
        storage = url(port, database="nope")
    elif case in ("server down", "silent server"):
        listener = socket.create_server(("127.0.0.1", 0))  # accepts and never answers, or is closed: refused
        port = listener.getsockname()[1]
        storage = url(port) + ("?connect_timeout=1" if case == "silent server" else "")
        if case == "server down":
            listener.close()
    elif case == "no driver":
        storage = url(port).replace("postgresql://", "postgresql+psycopg2://")
    else:
        storage = url(port).replace("postgresql://", "postgresq://")
    if storage:
        monkeypatch.setenv("SWEEP_STORAGE", storage)
    args = sweep_args(tmp_path, data_dir, write_space(tmp_path), 1) + (["--storage", given] if given else [])
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli(["sweep", *args])
    finally:
        if listener:
            listener.close()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and PASSWORD not in err
    assert err.strip().splitlines() == [message.format(port=port)]
