"""`serve`: an HTTP API over one export folder (`exports/<run>/`), with FastAPI, uvicorn and onnxruntime: no torch.

    POST /predict   {"text": "..."} or {"texts": ["...", ...]} -> label id, label, readable name, probabilities
    GET  /health    the process answers          GET /ready      the model is loaded (503 until then)
    GET  /metadata  labels, the headline metric with its interval (reports/<run>/metrics.json), export sizes
    GET  /docs      OpenAPI

Every bad request gets a 4xx JSON answer `{"error", "field", "limit", "detail"}`, never a 500 or a traceback. The
limits come from environment variables (SERVE_MAX_BATCH, SERVE_MAX_CHARS, SERVE_MAX_BODY_BYTES, ...) or options.
"""

import json
import logging
import os
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import ArgumentParser, UserError
from .exported import ExportedModel, read_json

log = logging.getLogger("dl_portfolio.serve")
ENV_PREFIX = "SERVE_"
TRANSFORMER_CHUNK = 4  # texts per onnxruntime call of a transformer (bench/results/serve.md)


@dataclass(frozen=True)
class Settings:
    """The server's limits and inference knobs; each reads SERVE_<NAME> from the environment (e.g. SERVE_MAX_BATCH)."""

    max_batch: int = field(default=64, metadata={"help": "texts per request"})
    # A tweet has 280 characters; the tokenizer truncates long texts anyway, but featurizing them still costs.
    max_chars: int = field(default=2000, metadata={"help": "characters per text"})
    max_body_bytes: int = field(default=262_144, metadata={"help": "request body bytes (413 before parsing)"})
    variant: str = field(default="int8", metadata={"help": "int8 (onnx/model_quantized.onnx) or fp32"})
    threads: int = field(default=1, metadata={"help": "onnxruntime intra-op threads per inference"})
    # One inference per core, each on its own thread, beat fewer inferences with more threads each on 2 cores
    # (bench/results/serve.md compares the settings).
    concurrency: int = field(
        default_factory=lambda: os.cpu_count() or 1, metadata={"help": "inferences at once (default: CPU cores)"}
    )
    graceful_timeout: int = field(default=30, metadata={"help": "seconds SIGTERM waits for requests in flight"})

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Settings":
        """Defaults overridden by SERVE_* variables; a value that is not of the field's type is a UserError."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw.strip():
                values[f.name] = convert(ENV_PREFIX + f.name.upper(), raw.strip(), f.type)
        return cls(**values).checked()

    def checked(self) -> "Settings":
        """Self, or a UserError naming the setting that cannot work."""
        for name in ("max_batch", "max_chars", "max_body_bytes", "threads", "concurrency"):
            if getattr(self, name) < 1:
                raise UserError(f"{ENV_PREFIX}{name.upper()} (--{name.replace('_', '-')}) must be at least 1.")
        if self.variant not in ("int8", "fp32"):
            raise UserError(f"{ENV_PREFIX}VARIANT (--variant) must be int8 or fp32, not {self.variant!r}.")
        return self

    def to_env(self) -> dict[str, str]:
        """The settings as SERVE_* variables: how `--workers N` hands them to each worker process."""
        return {ENV_PREFIX + k.upper(): str(v) for k, v in asdict(self).items()}


def convert(name: str, raw: str, kind: type):
    """`raw` as `kind` (int or str), or a UserError naming the variable."""
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise UserError(f"{name}={raw!r} is not a whole number.") from None
    return raw


def readable(label: str) -> str:
    """A label as a person reads it: 'sports_&_gaming' -> 'Sports & gaming', 'film_tv_&_video' -> 'Film tv & video'."""
    words = label.replace("_", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class ApiError(Exception):
    """A bad request: answered with `status` and a JSON body naming the field and the limit it broke."""

    def __init__(self, status: int, error: str, field: str, detail: str, limit: dict | None = None):
        super().__init__(detail)
        self.status, self.body = status, {"error": error, "field": field, "limit": limit, "detail": detail}


class PredictRequest(BaseModel):
    """One text or a batch of texts."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Great match tonight!"}, {"texts": ["Great match!", "New album"]}]},
    )
    text: str | None = Field(None, description="one text (give `text` or `texts`)")
    texts: list[str] | None = Field(None, description="several texts, answered in order")


class Prediction(BaseModel):
    """The model's answer for one text."""

    label_id: int = Field(description="index of the most probable label")
    label: str = Field(description="the label as trained")
    name: str = Field(description="the label for people")
    probs: dict[str, float] = Field(description="probability of every label")


class PredictResponse(BaseModel):
    """Answers in the order of the texts, and the model that gave them."""

    model: str
    predictions: list[Prediction]


class ErrorResponse(BaseModel):
    """A refused request: what is wrong (`error`, `detail`), where (`field`) and the allowed range (`limit`)."""

    error: str = Field(description="a short code: text_too_long, batch_too_large, invalid_json, ...")
    field: str = Field(description='the field at fault: "text", "texts[3]", "body"')
    limit: dict[str, int] | None = Field(description='the range it must keep, e.g. {"min": 1, "max": 2000}')
    detail: str = Field(description="one sentence saying what to change")


def texts_of(body: PredictRequest, settings: Settings) -> list[str]:
    """The request's texts, or an ApiError for the first limit one breaks."""
    if (body.text is None) == (body.texts is None):
        which = "both" if body.text is not None else "neither"
        raise ApiError(
            422, "text_or_texts", "text", f'give "text" (a string) or "texts" (a list): the body has {which}.'
        )
    if body.text is not None:
        check_text(body.text, "text", settings.max_chars)
        return [body.text]
    limit = {"min": 1, "max": settings.max_batch}
    if not body.texts:
        raise ApiError(422, "empty_batch", "texts", '"texts" is an empty list: send at least one text.', limit)
    if len(body.texts) > settings.max_batch:
        detail = f'"texts" has {len(body.texts)} texts; at most {settings.max_batch} per request.'
        raise ApiError(422, "batch_too_large", "texts", detail, limit)
    for i, text in enumerate(body.texts):
        check_text(text, f"texts[{i}]", settings.max_chars)
    return body.texts


def check_text(text: str, field: str, max_chars: int) -> None:
    """An ApiError when `text` is blank or longer than `max_chars` characters."""
    limit = {"min": 1, "max": max_chars}
    if not text.strip():
        raise ApiError(422, "empty_text", field, f'"{field}" is empty or blank: send some text.', limit)
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate (JSON "\\ud800"): no featurizer can read it
            raise ApiError(422, "invalid_text", field, f'"{field}" has a lone surrogate (not Unicode text).') from None
    if len(text) > max_chars:
        detail = f'"{field}" has {len(text)} characters; at most {max_chars}.'
        raise ApiError(422, "text_too_long", field, detail, limit)


def field_name(loc: tuple) -> str:
    """A pydantic location as a field: ('body', 'texts', 3) -> 'texts[3]'."""
    name = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        name += f"[{part}]" if isinstance(part, int) else f"{'.' if name else ''}{part}"
    return name or "body"


def validation_error(err: dict) -> ApiError:
    """FastAPI's first validation error as one clear ApiError (400 not JSON, 415 not a JSON type, 422 the rest)."""
    kind, field = err.get("type", ""), field_name(tuple(err.get("loc", ())))
    if kind == "json_invalid":
        reason = (err.get("ctx") or {}).get("error", "")
        return ApiError(400, "invalid_json", "body", f"the body is not valid JSON ({reason}).".replace(" ()", ""))
    if kind == "missing" and field == "body":
        return ApiError(400, "empty_body", "body", 'the body is empty or null: send {"text": "..."} as JSON.')
    if field == "body" and isinstance(err.get("input"), bytes | bytearray):  # FastAPI reads non-JSON types as bytes
        return ApiError(415, "not_json", "body", "send the body as JSON with Content-Type: application/json.")
    if field == "body":
        return ApiError(
            422, "not_an_object", "body", 'the body must be a JSON object: {"text": ...} or {"texts": [...]}'
        )
    if kind == "extra_forbidden":
        return ApiError(422, "unknown_field", field, f'unknown field "{field}": send "text" or "texts".')
    expected = "a list of strings" if field == "texts" else "a string"
    return ApiError(422, "wrong_type", field, f'"{field}" must be {expected} ({err.get("msg", kind)}).')


def headline(metrics: dict | None) -> dict | None:
    """The run's headline from reports/<run>/metrics.json: accuracy and macro-F1 with their 95% bootstrap intervals
    (`intervals`, as the write-up shows them), the test set and the write-up's sentence; None without a report."""
    if not metrics or "metrics" not in metrics:
        return None
    intervals = metrics.get("intervals") or {}
    out = {
        key: {"value": metrics["metrics"][key], "ci95": intervals.get(key)}
        for key in ("accuracy", "macro_f1")
        if key in metrics["metrics"]
    }
    dataset = metrics.get("dataset") or {}
    out["dataset"] = dataset.get("name")
    out["test_examples"] = (dataset.get("splits") or {}).get("test")
    out["text"] = (metrics.get("display") or {}).get("headline")
    return out


def metadata(model: ExportedModel, metrics: dict | None, settings: Settings) -> dict:
    """What /metadata answers: the model, its labels, how good it is and how big its files are."""
    info = model.info
    return {
        "model": model.model_id,
        "run": info.get("run", model.folder.name),
        "encoder": info.get("encoder"),
        "variant": model.variant,
        "created": info.get("created"),
        "labels": [{"id": i, "label": label, "name": readable(label)} for i, label in enumerate(model.labels)],
        "headline": headline(metrics),
        "sizes": {"onnx": info.get("sizes"), "files": info.get("files")},
        "parity": {k: (info.get("parity") or {}).get(k) for k in ("int8_label_agreement", "fp32_max_abs_diff")},
        "limits": {k: getattr(settings, k) for k in ("max_batch", "max_chars", "max_body_bytes")},
    }


def predictions(model: ExportedModel, texts: list[str]) -> list[dict]:
    """One answer per text (runs on an inference thread)."""
    out = []
    # A transformer: texts of similar length, TRANSFORMER_CHUNK per onnxruntime call (1.5x the texts/s of one padded
    # call of 32 on 2 AVX2 cores); the bag of n-grams costs least in one call.
    chunk = TRANSFORMER_CHUNK if model.encoder == "transformer" else len(texts)
    for probs in model.predict_proba(texts, batch_size=chunk, by_length=len(texts) > chunk):
        best = max(range(len(probs)), key=probs.__getitem__)
        out.append(
            {
                "label_id": best,
                "label": model.labels[best],
                "name": readable(model.labels[best]),
                "probs": dict(zip(model.labels, probs, strict=True)),
            }
        )
    return out


def error_json(status: int, body: dict) -> JSONResponse:
    """A 4xx/5xx answer with the error body."""
    return JSONResponse(body, status_code=status)


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 before the app parses it.

    The body is buffered (at most `max_bytes`) and replayed to the app, so FastAPI never sees more than the limit.
    A body up to DRAIN times the limit is read to its end and dropped before the answer: closing a connection with
    unread data makes the kernel send a reset, and the client could lose the 413. Beyond that (declared in
    Content-Length, or counted as chunks arrive) it is answered at once and the connection closed.
    """

    DRAIN = 4

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")  # the HTTP parser has checked it is a number
        if declared.isdigit() and int(declared) > self.DRAIN * self.max_bytes:
            return await self.refuse(send, close=True)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nothing to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.DRAIN * self.max_bytes:
                return await self.refuse(send, close=True)
            if size <= self.max_bytes:
                chunks.append(body)
            if not message.get("more_body"):
                break
        if size > self.max_bytes:
            return await self.refuse(send, close=False)
        return await self.app(scope, replay(b"".join(chunks), receive), send)

    async def refuse(self, send, close: bool):
        """The 413 answer; `close` when the rest of the body is left unread (the connection cannot be reused)."""
        detail = f"the body is larger than {self.max_bytes} bytes: send fewer or shorter texts per request."
        err = ApiError(413, "body_too_large", "body", detail, {"max": self.max_bytes})
        payload = json.dumps(err.body, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def replay(body: bytes, receive):
    """A `receive` that gives the buffered body once, then waits on the real one (for the disconnect)."""
    sent = False

    async def again():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


class AccessLog:
    """ASGI middleware: one log line per request, `METHOD path status ms` (uvicorn's own access log is off)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ms = 1000 * (time.perf_counter() - start)
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status[0], ms)


def create_app(folder: str | Path, settings: Settings | None = None, metrics_path: str | Path | None = None):
    """The FastAPI app over the export `folder`; the model loads at startup (`/ready` says when).

    `metrics_path` defaults to reports/<run>/metrics.json beside the exports/ folder (the project's layout).
    """
    folder = Path(folder)
    settings = (settings or Settings.from_env()).checked()
    if metrics_path is None:
        metrics_path = folder.parent.parent / "reports" / folder.name / "metrics.json"
    state: dict = {}

    @asynccontextmanager
    async def lifespan(_app):
        model = await anyio.to_thread.run_sync(lambda: ExportedModel.load(folder, settings.variant, settings.threads))
        # The first call sizes onnxruntime's buffers: pay it here, not in the first user's latency.
        await anyio.to_thread.run_sync(model.predict_proba, ["warm up"])
        state.update(model=model, limiter=anyio.CapacityLimiter(settings.concurrency))
        state["metadata"] = metadata(model, read_json(Path(metrics_path)), settings)
        log.info("serving %s (%s, %d labels) from %s", model.model_id, model.variant, len(model.labels), folder)
        yield
        state.clear()  # /ready answers 503 from here on

    app = FastAPI(
        title="dl-portfolio text classifier",
        description=__doc__.split("\n\n")[0],
        lifespan=lifespan,
        responses={422: {"model": ErrorResponse}},
    )
    add_error_handlers(app)
    add_routes(app, state, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)  # added last: outermost, so refused bodies are logged too
    return app


def add_error_handlers(app: FastAPI) -> None:
    """ApiError and FastAPI's validation errors as one clear 4xx JSON answer; anything else a 500 without details."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, err: ApiError):
        return error_json(err.status, err.body)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError):
        first = validation_error(err.errors()[0] if err.errors() else {})
        return error_json(first.status, first.body)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        # FastAPI's own refusals (404, 405, a body it cannot decode) in the same shape as every other one
        if err.status_code == 400:  # the body is not UTF-8, so not JSON
            refusal = ApiError(
                400, "invalid_json", "body", "the body cannot be read as JSON (not UTF-8, or nested too deep)."
            )
        else:
            code = str(err.detail).lower().replace(" ", "_")
            field = "method" if err.status_code == 405 else "path"
            refusal = ApiError(err.status_code, code, field, f"{err.detail}: {request.method} {request.url.path}")
        return JSONResponse(refusal.body, status_code=refusal.status, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        log.exception("%s %s failed", request.method, request.url.path, exc_info=err)
        return error_json(500, {"error": "internal", "field": "", "limit": None, "detail": "internal error (logged)."})


def add_routes(app: FastAPI, state: dict, settings: Settings) -> None:
    """/predict, /health, /ready and /metadata."""
    refused = {code: {"model": ErrorResponse} for code in (400, 413, 415, 422)}

    @app.post("/predict", response_model=PredictResponse, responses=refused)
    async def predict(body: PredictRequest) -> dict:
        """Label and probabilities of each text; `name` is the label for people."""
        texts = texts_of(body, settings)
        model = state.get("model")
        if model is None:
            raise ApiError(503, "not_ready", "", "the model is not loaded yet: retry after GET /ready answers 200.")
        # On a thread (onnxruntime and the tokenizer let go of the GIL), at most `concurrency` at once.
        answers = await anyio.to_thread.run_sync(predictions, model, texts, limiter=state["limiter"])
        return {"model": model.model_id, "predictions": answers}

    @app.get("/health")
    async def health() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/ready", responses={503: {"description": "the model is not loaded (yet, or any more)"}})
    async def ready():
        """200 once the model is loaded and warm, 503 before and while shutting down."""
        if "model" not in state:
            return JSONResponse({"ready": False}, status_code=503)
        return {"ready": True, "model": state["model"].model_id}

    @app.get("/metadata")
    async def get_metadata() -> dict:
        """Labels, the headline metric with its interval, export sizes and the request limits."""
        if "metadata" not in state:
            raise ApiError(503, "not_ready", "", "the model is not loaded yet: retry after GET /ready answers 200.")
        return state["metadata"]


def app_from_env():
    """The app for `uvicorn --factory dl_portfolio.serve:app_from_env` (and each `--workers N` process):
    SERVE_EXPORT is the export folder, SERVE_METRICS the metrics.json (optional), SERVE_* the settings."""
    configure_logging()
    return create_app(os.environ[ENV_PREFIX + "EXPORT"], Settings.from_env(), os.environ.get(ENV_PREFIX + "METRICS"))


def export_folder(root: Path, run: str | None) -> Path:
    """exports/<run>/ under `root` (default run: the one runs/latest points to), or a UserError saying what to do."""
    if run is None:
        latest = root / "runs" / "latest"
        if not latest.exists():
            raise UserError(f"no run given and {latest} is missing: run make train, then make export first.")
        run = latest.resolve().name
    folder = root / "exports" / run
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}/ has no export: run make export RUN={run} first.")
    return folder


def parser() -> ArgumentParser:
    """The `serve` options; the limits default to the SERVE_* environment, then to Settings' defaults."""
    p = ArgumentParser(prog="serve", description=__doc__.splitlines()[0])
    p.add_argument("--run", default=None, help="run name in exports/ (default: the run runs/latest points to)")
    p.add_argument("--root", default=".", help="project folder with exports/, runs/ and reports/ (default: .)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--workers", type=int, default=1, help="processes, each with its own model (default: 1)")
    for f in fields(Settings):
        default = "" if f.default is MISSING else f"; default: {f.default}"
        env = f"{ENV_PREFIX}{f.name.upper()}"
        p.add_argument(f"--{f.name.replace('_', '-')}", type=f.type, help=f"{f.metadata['help']} (env {env}{default})")
    return p


def configure_logging() -> None:
    """Request lines to stderr with a timestamp (uvicorn configures only its own loggers)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main(argv: list[str] | None = None) -> None:
    """`serve [--run NAME] [--root DIR] [--host 127.0.0.1] [--port 8000] [--workers 1] [--max-batch N] ...`."""
    try:
        args = parser().parse_args(sys.argv[1:] if argv is None else argv)
        overrides = {f.name: getattr(args, f.name) for f in fields(Settings) if getattr(args, f.name) is not None}
        settings = replace(Settings.from_env(), **overrides).checked()
        if args.workers < 1:
            raise UserError("--workers must be at least 1.")
        folder = export_folder(Path(args.root), args.run)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    serve(
        folder, settings, args.host, args.port, args.workers, Path(args.root) / "reports" / folder.name / "metrics.json"
    )


def serve(folder: Path, settings: Settings, host: str, port: int, workers: int, metrics: Path) -> None:
    """Run uvicorn until SIGINT/SIGTERM; in-flight requests finish first (up to `graceful_timeout` seconds)."""
    import uvicorn

    configure_logging()
    options = {"host": host, "port": port, "access_log": False, "timeout_graceful_shutdown": settings.graceful_timeout}
    if workers == 1:
        uvicorn.run(create_app(folder, settings, metrics), **options)
        return
    # Worker processes import the app by name: the folder and settings travel in their environment.
    os.environ.update(settings.to_env(), SERVE_EXPORT=str(folder.resolve()), SERVE_METRICS=str(metrics.resolve()))
    uvicorn.run("dl_portfolio.serve:app_from_env", factory=True, workers=workers, **options)


if __name__ == "__main__":
    main()
