"""Bad inputs through the real command line, as a table: each one is refused with exactly one `error:` line on
stderr that names the offending value, exit code 2, no traceback, and the project folder unchanged (every file hashed
before and after, `runs/latest` still pointing at the good run). Inputs the data can only weakly support train with
a warning carried into the run's manifest; data as people really export it trains.

The commands run in this process (`cli.main`, the console script's entry point) so Lightning is imported once; the
`make` cases run the real `make` in a subprocess.
"""

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dl_portfolio.cli import main

from .conftest import LABELS, PROJECT, copy_project, make_rows, write_csv

ROWS = {"train": (30, 0), "validation": (8, 1), "test": (34, 2)}  # per label, seed: a test split of 102 examples
TRAIN = [
    "train", "--config", "configs/default.yaml", "--config", "configs/trainer/cpu.yaml",
    "--model", "configs/model/bow.yaml", "--model.num_buckets", "4096", "--model.embed_dim", "16",
    "--data.source", "local", "--data.path", "data/local", "--data.labels", json.dumps(LABELS),
    "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    "--tracking.backend", "none",
]  # fmt: skip


def rows(split: str) -> list[dict]:
    n, seed = ROWS[split]
    return make_rows(n, seed)


def data_folder(root: Path, name: str, **overrides) -> str:
    """data/<name>/ with the three good split files, some replaced: `split=rows` or `split=(bytes, suffix)`."""
    folder = root / "data" / name
    folder.mkdir(parents=True)
    for split in ROWS:
        given = overrides.get(split, rows(split))
        if isinstance(given, tuple):
            (folder / f"{split}{given[1]}").write_bytes(given[0])
        else:
            write_csv(folder / f"{split}.csv", given)
    return f"data/{name}"


def csv_bytes(split_rows: list[dict], delimiter: str = ",", encoding: str = "utf-8", newline: str = "\n") -> bytes:
    lines = [f"text{delimiter}label", *(f"{r['text']}{delimiter}{r['label']}" for r in split_rows)]
    return newline.join(lines).encode(encoding) + newline.encode()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A project folder (configs, Makefile, docs, README) with local data and one good, finished run `good`."""
    folder = tmp_path_factory.mktemp("project")
    copy_project(folder)
    data_folder(folder, "local")
    (folder / "texts.csv").write_text("tweet\nhello there\n")
    (folder / "latin1.txt").write_bytes("hello\ncafé au lait\n".encode("latin-1"))
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        main([*TRAIN, "--run_name", "good"])
        main([*TRAIN, "--run_name", "quick", "--trainer.fast_dev_run", "true"])
    finally:
        os.chdir(cwd)
    assert (folder / "runs" / "good" / "checkpoints" / "best.ckpt").is_file()
    assert os.readlink(folder / "runs" / "latest") == "good"  # the fast_dev_run (no checkpoint) did not move it
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder`: a file's sha256, a link's target, or `dir`."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


class Lines(logging.Handler):
    """Collects what Lightning's rank-zero logger shows (our data and warning lines go through it)."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def run(root: Path, argv: list[str], capfd) -> tuple[int, str, list[str]]:
    """Run the command line in `root`: (exit code, stderr, logged lines)."""
    handler = Lines()
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    logger.addHandler(handler)
    cwd = Path.cwd()
    os.chdir(root)
    capfd.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        os.chdir(cwd)
        logger.removeHandler(handler)
    return code, capfd.readouterr().err, handler.lines


def files(root, **splits) -> list[str]:
    """Train arguments on a data folder with some split files replaced (made before the tree is hashed)."""
    name = "bad" + hashlib.sha1(repr(sorted(splits.items())).encode()).hexdigest()[:8]
    return [*TRAIN, "--data.path", data_folder(root, name, **splits)]


def hub_copy(root: Path) -> list[str]:
    """Train arguments on a data set saved with `datasets` whose test split has an unlabelled example (-1)."""
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS)})
    splits = {}
    for split in ROWS:
        examples = rows(split)
        ids = [LABELS.index(r["label"]) for r in examples]
        splits[split] = datasets.Dataset.from_dict(
            {"text": [r["text"] for r in examples], "label": ids[:-1] + [-1] if split == "test" else ids},
            features=features,
        )
    datasets.DatasetDict(splits).save_to_disk(root / "data" / "hub")
    same = json.dumps({split: split for split in ROWS})  # the tweet_topic preset renames its splits
    return [*TRAIN, "--data.source", "hub", "--data.hub_id", "data/hub", "--data.splits", same]


@pytest.fixture(scope="module")
def short_bert(tiny_bert, tmp_path_factory) -> str:
    """The tiny BERT with a tokenizer that says it reads at most 32 tokens."""
    from transformers import AutoTokenizer, BertModel

    folder = tmp_path_factory.mktemp("short_bert")
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    tokenizer.model_max_length = 32
    tokenizer.save_pretrained(folder)
    BertModel.from_pretrained(tiny_bert).save_pretrained(folder)
    return str(folder)


def preset(root: Path, text: str) -> list[str]:
    """Train arguments with a model preset file of ours (written before the tree is hashed)."""
    name = "p" + hashlib.sha1(text.encode()).hexdigest()[:8]
    (root / "configs" / "model" / f"{name}.yaml").write_text(text)
    return [*TRAIN, "--model", f"configs/model/{name}.yaml"]


def page_not_utf8(root: Path) -> list[str]:
    """A write-up folder whose docs/index.md an editor saved as cp1252: the report fails after its figures are drawn,
    at the write-up, so nothing of it may appear (no reports/ folder, no moved link, no page half updated)."""
    site = root / "site-cp1252"
    shutil.copytree(root / "docs", site / "docs")
    for name in ("README.md", "mkdocs.yml", "pyproject.toml"):
        shutil.copy(root / name, site / name)
    index = site / "docs" / "index.md"
    index.write_bytes(index.read_bytes().replace(b"## Problem", "## Problème".encode("cp1252"), 1))
    return ["report", "--root", "site-cp1252", "--runs_dir", "runs"]


def single_class(split: str) -> list[dict]:
    return [r for r in rows(split) if r["label"] == "cats"]


# (id, argv or a function of the project folder giving argv, text the one error line must contain)
REFUSED = [
    ("trainer-preset-typo", ["train", "--config", "configs/default.yaml", "--config", "configs/trainer/gpux.yaml"],
     "TRAINER=gpux is not a preset"),
    ("unknown-option", [*TRAIN, "--model.lrr", "3"], "did you mean --model.lrr -> --model.lr?"),
    ("batch-size-zero", [*TRAIN, "--data.batch_size", "0"], "data.batch_size 0"),
    ("batch-size-negative", [*TRAIN, "--data.batch_size", "-8"], "data.batch_size -8"),
    ("batch-size-not-a-number", [*TRAIN, "--data.batch_size", "abc"], "abc"),
    ("eval-batch-size-zero", [*TRAIN, "--data.eval_batch_size", "0"], "data.eval_batch_size 0"),
    ("workers-negative", [*TRAIN, "--data.num_workers", "-1"], "data.num_workers -1"),
    ("lr-zero", [*TRAIN, "--model.lr", "0"], "model.lr 0"),
    ("lr-negative", [*TRAIN, "--model.lr", "-0.001"], "model.lr -0.001"),
    ("lr-nan", [*TRAIN, "--model.lr", "nan"], "--model.lr nan is not a number"),
    ("epochs-zero", [*TRAIN, "--trainer.max_epochs", "0"], "trainer.max_epochs 0"),
    ("epochs-negative", [*TRAIN, "--trainer.max_epochs", "-3"], "trainer.max_epochs -3"),
    ("max-length-zero", [*TRAIN, "--model.encoder", "transformer", "--model.max_length", "0"], "model.max_length 0"),
    ("max-length-beyond-backbone", [*TRAIN, "--model.encoder", "transformer", "--model.backbone", "SHORT_BERT",
                                    "--model.optimizer", "adamw", "--model.max_length", "64"], "model.max_length 64"),
    ("dropout-above-one", [*TRAIN, "--model.dropout", "1.5"], "model.dropout 1.5"),
    ("warmup-negative", [*TRAIN, "--model.warmup_ratio", "-0.1"], "model.warmup_ratio -0.1"),
    ("char-ngrams-two", [*TRAIN, "--model.char_ngrams", "2"], "model.char_ngrams 2"),
    ("bow-with-adamw", [*TRAIN, "--model.optimizer", "adamw"], "model.optimizer 'adamw'"),
    ("effective-batch-zero", [*TRAIN, "--effective_batch_size", "0"], "effective_batch_size 0"),
    ("fractions-sum-above-one", [*TRAIN, "--data.val_fraction", "0.6", "--data.test_fraction", "0.5"], "0.6"),
    ("labels-single", [*TRAIN, "--data.labels", '["cats"]'], "['cats']"),
    ("labels-repeated", [*TRAIN, "--data.labels", '["cats","dogs","cats"]'], "['cats']"),
    ("labels-empty", [*TRAIN, "--data.labels", "[]"], "data.labels is empty"),
    ("unknown-encoding", [*TRAIN, "--data.encoding", "utf-9"], "'utf-9'"),
    ("data-path-missing", [*TRAIN, "--data.path", "data/nowhere"], "data/nowhere"),
    ("runs-dir-is-a-file", [*TRAIN, "--runs_dir", "README.md"], "README.md"),
    ("runs-dir-not-writable", [*TRAIN, "--runs_dir", "/sys/dl-portfolio-runs"], "/sys/dl-portfolio-runs"),
    ("devices-zero", [*TRAIN, "--trainer.devices", "0"], "trainer.devices 0"),
    ("resume-unknown-run", [*TRAIN, "--resume", "nope"], "'nope'"),
    ("resume-last-without-runs", [*TRAIN, "--resume", "last", "--runs_dir", "elsewhere"], "elsewhere"),
    ("data-unknown-label", lambda r: files(r, test=[*rows("test"), {"text": "tweet tweet", "label": "birds"}]),
     "'birds'"),
    ("data-single-class", lambda r: files(r, train=single_class("train")), "train has a single class ['cats']"),
    ("data-test-too-small", lambda r: files(r, test=rows("test")[:2]), "the test split has 2 examples for 3 classes"),
    ("data-wrong-columns", lambda r: files(r, validation=(b"tweet,topic\nhello,cats\n", ".csv")), "'tweet'"),
    ("data-not-utf8", lambda r: files(r, test=(csv_bytes(rows("test")[:40]) + "café,cats\n".encode("cp1252"), ".csv")),
     "line 42"),
    ("data-label-missing", lambda r: files(r, validation=[*rows("validation")[:3], {"text": "woof", "label": ""}]),
     "row 4"),
    ("data-label-number-out-of-range", lambda r: files(r, test=[*rows("test"), {"text": "reef", "label": "7"}]),
     "'7'"),
    ("data-jsonl-broken-line", lambda r: files(r, train=(b'{"text": "meow", "label": "cats"}\n{"text": oops}\n',
                                                         ".jsonl")), "line 2"),
    ("preset-bad-value", lambda r: preset(r, "encoder: bow\noptimizer: sgd\nlr: -2.0\n"), "model.lr -2.0"),
    ("preset-unknown-key", lambda r: preset(r, "encoder: bow\noptimizer: sgd\nlearning_rate: 0.1\n"),
     "learning_rate"),
    ("preset-broken-yaml", lambda r: preset(r, "encoder: [bow\n"), "configs/model/p"),
    ("data-jsonl-row-without-label", lambda r: files(r, validation=(
        b'{"text": "woof bark", "label": "dogs"}\n{"text": "meow purr"}\n', ".jsonl")), "row 2"),
    ("hub-unlabelled-example", hub_copy, f"data/hub[test] row {ROWS['test'][0] * 3} has a text but no 'label'"),
    ("report-unknown-run", ["report", "--run", "nope"], "'nope'"),
    ("report-run-without-checkpoint", ["report", "--run", "quick"], "quick"),
    ("report-no-runs", ["report", "--runs_dir", "elsewhere"], "elsewhere"),
    ("report-unknown-option", ["report", "--bogus"], "--bogus"),
    ("report-errors-negative", ["report", "--errors", "-5"], "errors -5"),
    ("report-page-not-utf8", page_not_utf8, "site-cp1252/docs/index.md line "),
    ("predict-nothing", ["predict"], "nothing to classify"),
    ("predict-missing-file", ["predict", "--file", "missing.txt"], "missing.txt"),
    ("predict-unknown-run", ["predict", "--run", "nope", "--text", "hi"], "'nope'"),
    ("predict-wrong-column", ["predict", "--file", "texts.csv"], "'text'"),
    ("predict-file-not-utf8", ["predict", "--file", "latin1.txt"], "latin1.txt line 2"),
]  # fmt: skip
MAKE_REFUSED = [("make-trainer-typo", "TRAINER=gpux"), ("make-data-typo", "DATA=locall"), ("make-model", "MODEL=bert")]


QUIET_LINES = ("preflight: ", "data: ", "warning: ", "Running in `fast_dev_run` mode")


def check_refused(code: int, err: str, before: dict, after: dict, expected: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in err, err
    assert code == 2, err
    assert len(errors) == 1, err
    assert expected in errors[0], errors[0]
    assert after == before  # nothing written, nothing removed, runs/latest where it was


@pytest.mark.parametrize(("argv", "expected"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_bad_input_is_refused_with_one_line_and_changes_nothing(root, capfd, request, argv, expected):
    argv = argv(root) if callable(argv) else argv
    argv = [a.replace("SHORT_BERT", request.getfixturevalue("short_bert")) for a in argv]
    before = snapshot(root)
    code, err, _ = run(root, argv, capfd)
    check_refused(code, err, before, snapshot(root), expected)


@pytest.mark.parametrize("assignment", [c[1] for c in MAKE_REFUSED], ids=[c[0] for c in MAKE_REFUSED])
def test_preset_typo_through_make_is_one_line_listing_the_presets(root, assignment):
    variable, value = assignment.split("=")
    presets = sorted(p.stem for p in (root / "configs" / variable.lower()).glob("*.yaml"))
    before = snapshot(root)
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    out = subprocess.run(
        ["make", "--no-print-directory", "train", assignment, f"PYTHON={sys.executable}"],
        cwd=root, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    expected = f"{assignment} is not a preset (configs/{variable.lower()}/{value}.yaml does not exist): use one of "
    check_refused(out.returncode, out.stderr, before, snapshot(root), expected + ", ".join(presets))


# (id, split files, expected warning text, or None for data that must simply be read)
DATA_ACCEPTED = [
    ("excel-bom", {"train": (b"\xef\xbb\xbf" + csv_bytes(rows("train")), ".csv")}, None),
    ("excel-semicolons-crlf", {"train": (csv_bytes(rows("train"), ";", newline="\r\n"), ".csv")}, None),
    ("tab-separated", {"validation": (csv_bytes(rows("validation"), "\t"), ".csv")}, None),
    ("labels-as-numbers-in-test",
     {"test": [{"text": r["text"], "label": str(LABELS.index(r["label"]))} for r in rows("test")]}, None),
    ("long-text-cut", {"train": [*rows("train"), {"text": "meow " * 2000, "label": "cats"}]}, None),
]  # fmt: skip
DATA_WARNED = [
    ("train-shares-test", {"train": [*rows("train"), *rows("test")[:2]]}, "2 train texts also occur in test"),
    ("train-shares-validation", {"train": [*rows("train"), *rows("validation")[:3]]},
     "3 train texts also occur in validation"),
    ("small-test", {"test": rows("test")[:12]}, "the test split has only 12 examples"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("splits", "warning"), [c[1:] for c in DATA_ACCEPTED + DATA_WARNED], ids=[c[0] for c in DATA_ACCEPTED + DATA_WARNED]
)
def test_real_data_trains_and_weak_data_carries_a_warning(root, capfd, recwarn, request, splits, warning):
    name = request.node.callspec.id
    argv = [*files(root, **splits), "--trainer.fast_dev_run", "true", "--run_name", name]
    code, err, lines = run(root, argv, capfd)
    assert code == 0 and "Traceback" not in err and "error:" not in err, err
    # Quiet: Lightning's lines are only ours (and its fast_dev_run notice), its say-nothing warnings filtered.
    assert [line for line in lines if not line.startswith(QUIET_LINES)] == []
    assert [str(w.message) for w in recwarn if "LightningCLI's args" in str(w.message)] == []
    manifest = json.loads((root / "runs" / name / "manifest.json").read_text())
    shown = [line.removeprefix("warning: ") for line in lines if line.startswith("warning: ")]
    assert manifest["warnings"] == shown
    if warning is None:
        assert shown == []
    else:
        assert len(shown) == 1 and shown[0].startswith(warning)
    if name == "long-text-cut":
        cut = [line for line in lines if "texts longer than" in line]
        assert cut == [
            "data: train: cut 1 texts longer than 5,000 characters to their first 5,000 (data.max_chars; the model "
            "reads only its first model.max_length tokens anyway)"
        ]
    if name == "labels-as-numbers-in-test":
        assert any(line.startswith("data: test: labels given as numbers") for line in lines)
    assert os.readlink(root / "runs" / "latest") == "good"  # a fast_dev_run has no checkpoint: latest stays


def test_atomic_writes_keep_usual_modes(tmp_path):
    from dl_portfolio.files import write_text

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "README.md", "hello\n")
        assert (tmp_path / "README.md").stat().st_mode & 0o777 == 0o644
        (tmp_path / "README.md").chmod(0o664)
        write_text(tmp_path / "README.md", "again\n")
        assert (tmp_path / "README.md").stat().st_mode & 0o777 == 0o664  # an existing file keeps its mode
        os.umask(0o077)
        write_text(tmp_path / "private.md", "x\n")
        assert (tmp_path / "private.md").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_staged_writes_appear_together_or_not_at_all(tmp_path):
    from dl_portfolio.files import Staged

    (tmp_path / "reports" / "run").mkdir(parents=True)
    (tmp_path / "reports" / "run" / "old.txt").write_text("old report")
    (tmp_path / "page.md").write_text("old page")
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError), Staged() as stage:
        (stage.folder(tmp_path / "reports" / "run") / "new.txt").write_text("new report")
        stage.text(tmp_path / "page.md", "new page")
        stage.text(tmp_path / "docs" / "assets" / "new.json", "{}")
        raise RuntimeError("the disk is full")
    assert snapshot(tmp_path) == before  # no temp copy, no new folder, the old report whole

    old = os.umask(0o022)
    try:
        with Staged() as stage:
            (stage.folder(tmp_path / "reports" / "run") / "new.txt").write_text("new report")
            stage.text(tmp_path / "page.md", "new page")
            stage.text(tmp_path / "docs" / "assets" / "new.json", "{}")
    finally:
        os.umask(old)
    assert sorted(snapshot(tmp_path)) == ["docs", "docs/assets", "docs/assets/new.json", "page.md", "reports",
                                          "reports/run", "reports/run/new.txt"]  # fmt: skip
    assert (tmp_path / "page.md").read_text() == "new page"
    assert (tmp_path / "reports" / "run").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "docs" / "assets" / "new.json").stat().st_mode & 0o777 == 0o644
