"""`serve` and `exported` on real exports: a project baked from the kit, trained, reported and exported through its
own CLI, served by uvicorn on a free loopback port and asked over real HTTP (no mocks)."""

import csv
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from dl_portfolio.exported import ExportedModel, TokenizerFeaturizer, prepare
from dl_portfolio.serve import Settings, create_app, readable

KIT = Path(__file__).resolve().parents[2]
LIBRARY = KIT / "library"
RUN = "t"
# Small limits, so that each one is cheap to break.
LIMITS = {"SERVE_MAX_BATCH": "8", "SERVE_MAX_CHARS": "300", "SERVE_MAX_BODY_BYTES": "4096"}
TEXTS = [
    "Great match tonight!! @someone 3-1 #football https://t.co/abc",
    "New album drops Friday and the single is already everywhere",
    "Café déjà vu: naïve façade, Straße & ÆØÅ 😀",
    "The startup raised a seed round to build accounting software for bakeries",
    "   spaces\tand\nnewlines   ",
]


def cli_env(project: Path) -> dict:
    """The environment of the project's CLI: its package and this checkout's library importable."""
    path = os.pathsep.join([str(project / "src"), str(LIBRARY / "src")])
    return {**os.environ, "PYTHONPATH": path}


def make_export(tmp: Path, name: str, model: str, train_extra: list[str]) -> Path:
    """Bake the kit (sample data), then train, report and export run `t` with the project's CLI; returns the
    project folder (its exports/t/, reports/t/ and runs/latest are there)."""
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    context = [f"project_name={name}", "dataset=sample", f"model={model}", "tracking=none", "init_git=no"]
    subprocess.run(
        [str(cookiecutter), str(KIT), "--no-input", "-o", str(tmp), *context], check=True, capture_output=True
    )
    project = tmp / name.lower().replace(" ", "-")
    package = name.lower().replace(" ", "_")
    presets = ["--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml"]
    commands = [
        ["train", *presets, "--run_name", RUN, "--no_baseline", "--trainer.enable_progress_bar", "false", *train_extra],
        ["report"],
        ["export"],
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", package, *command], cwd=project, env=cli_env(project), capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stderr[-3000:]}"
    return project


@pytest.fixture(scope="module")
def bow_project(tmp_path_factory) -> Path:
    """A bag-of-n-grams export (the brief's tiny run: 2 epochs, 4,096 buckets, 16 dimensions)."""
    extra = ["--trainer.max_epochs", "2", "--model.num_buckets", "4096", "--model.embed_dim", "16"]
    return make_export(tmp_path_factory.mktemp("bow"), "Serve Check", "bow", extra)


@pytest.fixture(scope="module")
def bert_project(tmp_path_factory, tiny_bert) -> Path:
    """A transformer export of the tiny BERT; max_length 24 so that longer texts are truncated."""
    extra = ["--trainer.max_epochs", "1", "--model.backbone", tiny_bert, "--model.max_length", "24"]
    return make_export(tmp_path_factory.mktemp("bert"), "Serve Bert", "transformer", extra)


@pytest.fixture(scope="module", params=["bow", "bert"])
def project(request) -> Path:
    """Each export in turn."""
    return request.getfixturevalue(f"{request.param}_project")


def read_json(path: Path) -> dict:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadServer:
    """uvicorn serving `app` on 127.0.0.1 in a background thread, for the length of a `with` block."""

    def __init__(self, app):
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, access_log=False, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def served(project):
    """(base URL, ExportedModel, project) for the export served in a thread with the small LIMITS."""
    folder = project / "exports" / RUN
    with ThreadServer(create_app(folder, Settings.from_env(LIMITS))) as url:
        yield url, ExportedModel.load(folder), project


def start_process(python: str, project: Path, env: dict, *extra: str) -> tuple[subprocess.Popen, str]:
    """`python -m dl_portfolio.serve --root project` on a free loopback port, once /ready answers 200."""
    port = free_port()
    cmd = [python, "-m", "dl_portfolio.serve", "--root", str(project), "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server did not become ready:\n{proc.communicate()[1][-3000:]}")


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM, then the exit code and stderr (bounded wait)."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


def test_bow_featurizer_reproduces_featurizer_check(bow_project):
    """The numpy/pure-Python hashed n-grams give every text of featurizer_check.json the ids Python computed."""
    folder = bow_project / "exports" / RUN
    check = read_json(folder / "featurizer_check.json")
    model = ExportedModel.load(folder)
    assert len(check["texts"]) >= 20
    for row in check["texts"]:
        prepared = prepare([row["text"]], check["normalize"])[0]
        assert prepared == row["normalized"]
        assert model.featurizer.grams(prepared) == row["grams"], row["text"]
        assert model.features([row["text"]])["ids"][0].tolist() == row["ids"], row["text"]


def test_tokenizer_matches_transformers(bert_project):
    """The `tokenizers` featurizer gives the ids and mask of the training featurizer (transformers' tokenizer with
    padding=True, truncation=True, max_length), on a batch that pads and a text that is truncated."""
    from transformers import AutoTokenizer

    folder = bert_project / "exports" / RUN
    block = read_json(folder / "config.json")["dl_portfolio"]
    texts = [*TEXTS, "meow purr " * 40, "", "woof"]
    ours = TokenizerFeaturizer(folder, block)(texts)
    theirs = AutoTokenizer.from_pretrained(folder)(
        texts, padding=True, truncation=True, max_length=block["max_length"], return_tensors="np"
    )
    assert ours["input_ids"].shape[1] == block["max_length"] == 24  # the long text is cut at max_length
    assert ours["input_ids"].tolist() == theirs["input_ids"].tolist()
    assert ours["attention_mask"].tolist() == theirs["attention_mask"].tolist()


def test_exported_model_matches_the_export_check(project):
    """fp32 probabilities equal export.json's examples (softmax of the fp32 graph); the int8 graph (the default)
    scores the test split with exactly the accuracy the export recorded for it."""
    folder = project / "exports" / RUN
    info = read_json(folder / "export.json")
    fp32 = ExportedModel.load(folder, variant="fp32")
    assert info["examples"], "export.json has no examples to compare with"
    for example in info["examples"]:
        probs = dict(zip(fp32.labels, fp32.predict_proba([example["text"]])[0], strict=True))
        assert probs == pytest.approx(example["probs"], abs=1e-5)
    int8 = ExportedModel.load(folder)
    assert int8.variant == "int8" and int8.labels == read_json(folder / "config.json")["dl_portfolio"]["labels"]
    package = next(p for p in (project / "src").iterdir() if (p / "sample_data").is_dir())
    with (package / "sample_data" / "test.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    probs = int8.predict_proba([r["text"] for r in rows])
    right = sum(
        int8.labels[max(range(len(p)), key=p.__getitem__)] == r["label"] for p, r in zip(probs, rows, strict=True)
    )
    assert len(rows) == info["parity"]["texts"]
    assert right / len(rows) == pytest.approx(info["parity"]["accuracy"]["int8"], abs=1e-12)
    assert all(math.isclose(sum(p), 1.0, abs_tol=1e-9) for p in probs)
    texts = [r["text"] for r in rows]
    by_length = int8.predict_proba(texts, batch_size=4, by_length=True)  # how `serve` batches a transformer
    for got, want in zip(by_length, probs, strict=True):
        assert got == pytest.approx(want, abs=1e-6)


def test_predict_single_and_batch_equal_exported_model(served):
    """/predict, one text at a time and as one batch: the ExportedModel's labels and probabilities, the model id."""
    url, model, _ = served
    expected = model.predict_proba(TEXTS)
    batch = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30)
    assert batch.status_code == 200, batch.text
    assert batch.json()["model"] == model.model_id
    singles = [httpx.post(f"{url}/predict", json={"text": t}, timeout=30).json()["predictions"][0] for t in TEXTS]
    for answer in (batch.json()["predictions"], singles):
        assert len(answer) == len(TEXTS)
        for got, probs in zip(answer, expected, strict=True):
            best = max(range(len(probs)), key=probs.__getitem__)
            assert (got["label_id"], got["label"]) == (best, model.labels[best])
            assert got["name"] == readable(got["label"])
            assert list(got["probs"]) == model.labels
            assert list(got["probs"].values()) == pytest.approx(probs, abs=1e-6)  # batch padding: ~1e-7 apart


def test_predict_gives_the_export_examples_labels(served):
    """The served int8 model labels export.json's examples (its most confident right answers) as the export did."""
    url, _, project = served
    examples = read_json(project / "exports" / RUN / "export.json")["examples"]
    answer = httpx.post(f"{url}/predict", json={"texts": [e["text"] for e in examples][:8]}, timeout=30).json()
    assert [p["label"] for p in answer["predictions"]] == [e["label"] for e in examples][:8]


def test_health_ready_metadata_docs(served):
    """/health, /ready, /metadata (labels, headline with its interval from metrics.json, sizes) and the OpenAPI."""
    url, model, project = served
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{url}/ready").json() == {"ready": True, "model": model.model_id}
    meta = httpx.get(f"{url}/metadata").json()
    metrics = read_json(project / "reports" / RUN / "metrics.json")
    info = read_json(project / "exports" / RUN / "export.json")
    assert meta["model"] == model.model_id and meta["run"] == RUN and meta["variant"] == "int8"
    assert [x["label"] for x in meta["labels"]] == model.labels
    assert [x["name"] for x in meta["labels"]] == [readable(label) for label in model.labels]
    for key in ("accuracy", "macro_f1"):
        assert meta["headline"][key] == {"value": metrics["metrics"][key], "ci95": metrics["intervals"][key]}
    assert meta["headline"]["text"] == metrics["display"]["headline"]
    assert meta["headline"]["test_examples"] == metrics["dataset"]["splits"]["test"]
    assert meta["sizes"] == {"onnx": info["sizes"], "files": info["files"]}
    assert meta["limits"] == {"max_batch": 8, "max_chars": 300, "max_body_bytes": 4096}
    assert httpx.get(f"{url}/docs").status_code == 200
    assert "/predict" in httpx.get(f"{url}/openapi.json").json()["paths"]


def test_readable():
    """Labels as people read them."""
    assert readable("sports_&_gaming") == "Sports & gaming"
    assert readable("arts_&_culture") == "Arts & culture"
    assert readable("film_tv_&_video") == "Film tv & video"
    assert readable("cats") == "Cats"


CHARS, BATCH, BODY = {"min": 1, "max": 300}, {"min": 1, "max": 8}, {"max": 4096}
JSON = {"content-type": "application/json"}
BAD = {
    "empty text": ({"json": {"text": ""}}, 422, "empty_text", "text", CHARS),
    "blank text in a batch": ({"json": {"texts": ["ok", " \n "]}}, 422, "empty_text", "texts[1]", CHARS),
    "text too long": ({"json": {"text": "a" * 301}}, 422, "text_too_long", "text", CHARS),
    "batch text too long": ({"json": {"texts": ["ok", "ok", "a" * 301]}}, 422, "text_too_long", "texts[2]", CHARS),
    "batch too large": ({"json": {"texts": ["ok"] * 9}}, 422, "batch_too_large", "texts", BATCH),
    "empty batch": ({"json": {"texts": []}}, 422, "empty_batch", "texts", BATCH),
    "text not a string": ({"json": {"text": 5}}, 422, "wrong_type", "text", None),
    "texts not a list": ({"json": {"texts": "hello"}}, 422, "wrong_type", "texts", None),
    "a text in texts not a string": ({"json": {"texts": ["ok", None]}}, 422, "wrong_type", "texts[1]", None),
    "neither text nor texts": ({"json": {}}, 422, "text_or_texts", "text", None),
    "both text and texts": ({"json": {"text": "a", "texts": ["b"]}}, 422, "text_or_texts", "text", None),
    "unknown field": ({"json": {"txt": "hello"}}, 422, "unknown_field", "txt", None),
    "body a JSON list": ({"json": ["hello"]}, 422, "not_an_object", "body", None),
    "body not JSON": ({"content": b'{"text": "hello"', "headers": JSON}, 400, "invalid_json", "body", None),
    "lone surrogate": ({"content": b'{"text": "a \\ud800 b"}', "headers": JSON}, 422, "invalid_text", "text", None),
    "body not UTF-8": ({"content": b'{"text": "\xff\xfe"}', "headers": JSON}, 400, "invalid_json", "body", None),
    "body empty": ({"content": b"", "headers": JSON}, 400, "empty_body", "body", None),
    "body not declared JSON": ({"content": b'{"text": "a"}', "headers": {"content-type": "text/plain"}}, 415,
                               "not_json", "body", None),
    "body too large": ({"json": {"text": "a" * 5000}}, 413, "body_too_large", "body", BODY),
    "body too large, chunked": ({"chunks": [b'{"text": "', b"a" * 5000, b'"}'], "headers": JSON}, 413,
                                "body_too_large", "body", BODY),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_bad_request_is_a_clear_4xx(served, case):
    """Each malformed request: its exact 4xx status, and a JSON body naming the error, the field and the limit."""
    url, _, _ = served
    request, status, error, field, limit = BAD[case]
    request = dict(request)
    if "chunks" in request:  # an iterator: httpx sends it chunked, without a Content-Length
        request["content"] = iter(request.pop("chunks"))
    answer = httpx.post(f"{url}/predict", timeout=30, **request)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["error"], body["field"], body["limit"]) == (error, field, limit)
    assert body["detail"] and "Traceback" not in answer.text
    if limit:
        assert str(limit["max"]) in body["detail"] or error.startswith("empty")


def test_body_declared_far_too_large_is_refused_before_it_is_sent(served):
    """A Content-Length over 4x the limit is answered 413 at once, before any of the body is sent, and the
    connection is closed (the server will not read a body that size)."""
    url, _, _ = served
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000000\r\n\r\n")  # fmt: skip
        reply = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            reply += chunk
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert json.loads(body) == {
        "error": "body_too_large",
        "field": "body",
        "limit": {"max": 4096},
        "detail": "the body is larger than 4096 bytes: send fewer or shorter texts per request.",
    }


def test_unknown_path_and_method_are_json_4xx(served):
    """404 and 405 in the same shape as the other refusals."""
    url, _, _ = served
    assert httpx.get(f"{url}/nope").json()["error"] == "not_found"
    answer = httpx.get(f"{url}/predict")
    assert answer.status_code == 405 and answer.json()["field"] == "method"


def test_cli_serves_logs_one_line_per_request_and_stops_on_sigterm(bow_project):
    """`serve --root`: the run runs/latest points to, limits from the environment overridden by options, one log
    line per request (no uvicorn access log), and SIGTERM lets a request in flight finish before the exit."""
    env = {**cli_env(bow_project), "PYTHONPATH": str(LIBRARY / "src"), "SERVE_MAX_BATCH": "3"}
    proc, url = start_process(sys.executable, bow_project, env, "--max-chars", "50")
    try:
        assert httpx.get(f"{url}/metadata").json()["limits"]["max_batch"] == 3
        assert httpx.post(f"{url}/predict", json={"text": "a" * 51}).json()["limit"] == {"min": 1, "max": 50}
        assert httpx.post(f"{url}/predict", json={"texts": ["a"] * 4}).json()["limit"] == {"min": 1, "max": 3}
        body = json.dumps({"texts": ["Great match tonight", "New album"]}).encode()
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=30) as sock:
            head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
            sock.sendall(head.encode() + b"\r\n\r\n" + body[:10])  # the request is in flight: half its body sent
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[10:])
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["predictions"][1]["label"]
        code, err = stop(proc)
    finally:
        proc.kill()
    # uvicorn re-raises the SIGTERM it caught once it has shut down: the exit a process manager expects
    assert code in (0, -signal.SIGTERM), err
    assert "Application shutdown complete" in err
    lines = [line for line in err.splitlines() if " /" in line and line.split()[-1].endswith("ms")]
    assert [line.split()[2:5] for line in lines] == [
        ["GET", "/ready", "200"],
        ["GET", "/metadata", "200"],
        ["POST", "/predict", "422"],
        ["POST", "/predict", "422"],
        ["POST", "/predict", "200"],
    ]
    assert "HTTP/1.1" not in err  # uvicorn's access log is off


def test_cli_without_export_is_one_error_line(tmp_path, bow_project):
    """No export: one `error:` line that says to run make export, exit code 2, no traceback."""
    env = {**os.environ, "PYTHONPATH": str(LIBRARY / "src")}
    for args in (["--root", str(tmp_path)], ["--root", str(bow_project), "--run", "nope"]):
        done = subprocess.run(
            [sys.executable, "-m", "dl_portfolio.serve", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
        assert "make export" in done.stderr
    bad = {**env, "SERVE_MAX_BATCH": "lots"}
    done = subprocess.run([sys.executable, "-m", "dl_portfolio.serve", "--root", str(bow_project)], env=bad,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: SERVE_MAX_BATCH='lots'")


def test_serve_installs_and_runs_without_torch(tmp_path, bow_project):
    """`pip install ./library[serve]` into a clean venv: torch is not there, and the server answers /predict with
    the probabilities of the kit's own ExportedModel."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # A copy of the library's sources: pip builds in the folder it installs from, and the checkout stays clean.
    source = tmp_path / "library"
    shutil.copytree(LIBRARY, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", f"{source}[serve]"], capture_output=True, text=True, timeout=600
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    no_torch = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True)
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc, url = start_process(python, bow_project, env)
    try:
        answer = httpx.post(f"{url}/predict", json={"texts": TEXTS}, timeout=30).json()
    finally:
        stop(proc)
    expected = ExportedModel.load(bow_project / "exports" / RUN).predict_proba(TEXTS)
    for got, probs in zip(answer["predictions"], expected, strict=True):
        assert list(got["probs"].values()) == pytest.approx(probs, abs=1e-6)
    modules = subprocess.run(
        [python, "-c", "import sys, dl_portfolio.serve; print(sorted(m for m in ('torch', 'transformers', "
         "'lightning') if m in sys.modules))"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert modules.stdout.strip() == "[]"


def test_make_serve_answers_the_export_check_texts_with_the_int8_labels(bow_project):
    """`make serve PORT=<p>` in the baked project, as a user runs it: ready, then the export's own int8 check (its
    widget examples, labels from the int8 graph) answered with the same labels over HTTP; SIGTERM ends it cleanly."""
    port = free_port()
    cmd = ["make", "--no-print-directory", "serve", f"PORT={port}", f"PYTHON={sys.executable}"]
    proc = subprocess.Popen(cmd, cwd=bow_project, env=cli_env(bow_project), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{url}/ready").json()["ready"] is True
        examples = read_json(bow_project / "exports" / RUN / "export.json")["examples"]
        answer = httpx.post(f"{url}/predict", json={"texts": [e["text"] for e in examples]}).json()
        assert [p["label"] for p in answer["predictions"]] == [e["label"] for e in examples]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
