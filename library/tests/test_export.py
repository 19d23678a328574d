"""`export` on tiny trained runs (a tiny BERT and a bag of n-grams): ONNX parity, the folder alone, the model card."""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml
from dl_portfolio import export as export_module
from dl_portfolio.cli import main as cli
from dl_portfolio.errors import UserError
from dl_portfolio.formats import SAMPLE_NOTE, fmt_ci, fmt_int, fmt_pct, label_name
from dl_portfolio.model_card import card
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.runs import data_module, load_model, read_config
from dl_portfolio.textprep import normalize_tweet

from .conftest import LABELS, export_run_args, make_rows, new_root, write_csv

PKG = "tweet_topic_classifier"
TOKENIZER_FILES = {"tokenizer.json", "tokenizer_config.json"}
# Run the card's Python example with torch, transformers and this project unimportable: the export must need none.
BLOCKER = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "lightning", {PKG!r}):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert) -> Path:
    """A project with a tiny-BERT run and a bag-of-n-grams run, each reported and exported."""
    tmp = tmp_path_factory.mktemp("export")
    data = tmp / "data"
    data.mkdir()
    for seed, (split, n) in enumerate([("train", 16), ("validation", 6), ("test", 6)]):
        rows = make_rows(n, seed)
        if split == "test":  # mentions and links: the export must normalise them as training did
            rows[0]["text"] = f"@someone {rows[0]['text']} https://t.co/xyz"
        write_csv(data / f"{split}.csv", rows)
    root = new_root(tmp / "project")
    for run, encoder in (("bert", "transformer"), ("bow", "bow")):
        train(export_run_args(root, data, run, encoder, tiny_bert))
        report(root, root / "runs", run)
        export_module.export(root, root / "runs", run, latency_texts=10)
    return root


def metrics_of(root: Path, run: str) -> dict:
    return json.loads((root / "reports" / run / "metrics.json").read_text())


def info_of(root: Path, run: str) -> dict:
    return json.loads((root / "exports" / run / "export.json").read_text())


def test_transformer_export_has_the_transformers_js_layout(project):
    folder = project / "exports" / "bert"
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"config.json", "README.md", "export.json", "onnx/model.onnx", "onnx/model_quantized.onnx"} <= files
    assert files >= TOKENIZER_FILES and "featurizer_check.json" not in files
    assert not any(f.endswith((".data", ".ckpt", ".safetensors", ".bin")) for f in files)  # one self-contained graph
    assert set(info_of(project, "bert")["files"]) == files - {"export.json"}
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["id2label"] == {str(i): x for i, x in enumerate(LABELS)}
    assert config["label2id"] == {x: i for i, x in enumerate(LABELS)}
    block = config["dl_portfolio"]
    assert block["encoder"] == "transformer" and block["pooling"] == "mean" and block["max_length"] == 128
    assert block["normalize"] == "tweeteval" and block["labels"] == LABELS and block["pad_token_id"] == 0
    assert json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"] == 128
    for name in ("model.onnx", "model_quantized.onnx"):
        graph = onnx.load(folder / "onnx" / name).graph
        assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
        assert [o.name for o in graph.output] == ["logits"]
        dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
        assert all(dims) and len(dims) == 2  # symbolic batch and sequence axes
    int8 = onnx.load(folder / "onnx/model_quantized.onnx").graph
    weights = {t.name: t for t in int8.initializer}
    fp32 = [weights[n.input[1]].dims for n in int8.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert fp32 == [[32, len(LABELS)]]  # every weight matrix but the tiny classifier head (onnxruntime skips it)...
    blocks = [n for n in int8.node if n.op_type == "MatMulNBits"]
    assert blocks and {a.i for n in blocks for a in n.attribute if a.name == "bits"} == {8}  # ...in 8-bit blocks
    tables = [n for n in int8.node if n.op_type == "Gather" and n.input[0] in weights]
    types = sorted((math.prod(weights[n.input[0]].dims), weights[n.input[0]].data_type) for n in tables)
    eight_bit, fp32 = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8), onnx.TensorProto.FLOAT
    assert [t for _, t in types[:-1]] == [fp32, fp32] and types[-1][1] in eight_bit  # the largest table in 8 bits


@pytest.mark.parametrize("run", ["bert", "bow"])
def test_onnx_logits_equal_the_checkpoint_and_export_json_records_them(project, run):
    import torch

    folder = project / "exports" / run
    model = load_model(project / "runs" / run).cpu()
    dm = data_module(read_config(project / "runs" / run), model)
    texts, gold = zip(*dm.splits["test"], strict=True)
    feed = {k: v.numpy() for k, v in model.featurizer(list(texts)).items()}
    with torch.inference_mode():
        ref = model(model.featurizer(list(texts))).double().numpy()
    out = {k: ort.InferenceSession(str(folder / p)).run(["logits"], feed)[0] for k, p in (("fp32", "onnx/model.onnx"),
           ("int8", "onnx/model_quantized.onnx"))}  # fmt: skip
    assert np.abs(out["fp32"] - ref).max() <= 1e-4
    p = info_of(project, run)["parity"]
    assert p["texts"] == len(texts) == 18 and p["split"] == "test" and p["fp32_max_abs_diff"] <= 1e-4
    agree = float((out["int8"].argmax(1) == ref.argmax(1)).mean())
    assert p["int8_label_agreement"] == pytest.approx(agree)
    acc = {k: float((x.argmax(1) == np.array(gold)).mean()) for k, x in (("pytorch", ref), *out.items())}
    assert p["accuracy"] == pytest.approx(acc)
    assert p["int8_accuracy_delta"] == pytest.approx(acc["int8"] - acc["pytorch"])
    # The report's accuracy is the checkpoint's: the export is checked against the model the write-up describes.
    assert acc["pytorch"] == pytest.approx(metrics_of(project, run)["metrics"]["accuracy"])
    info = info_of(project, run)
    assert info["sizes"] == {k: (folder / p).stat().st_size for k, p in (("fp32", "onnx/model.onnx"),
                             ("int8", "onnx/model_quantized.onnx"))}  # fmt: skip
    for key in ("fp32", "int8"):
        lat = info["latency_ms_per_tweet"][key]
        assert lat["texts"] == 10 and 0 < lat["p50"] <= lat["p95"]


def card_code(folder: Path) -> str:
    """The Python example of the model card, reading the folder instead of downloading it."""
    readme = (folder / "README.md").read_text()
    code = readme.split("```python\n")[1].split("```")[0]
    repo = yaml.safe_load(readme.split("---\n")[1])["model-index"][0]["name"]
    call = next(line for line in code.splitlines() if line.startswith("folder = snapshot_download("))
    assert repo in call
    code = code.replace("from huggingface_hub import snapshot_download\n", "")
    return code.replace(call, f"folder = {str(folder)!r}")


@pytest.mark.parametrize("run", ["bert", "bow"])
def test_the_card_example_runs_offline_with_only_onnxruntime_and_gives_the_same_answer(project, run):
    folder = project / "exports" / run
    text = "@someone my puppy wants to fetch a bone https://t.co/abc"
    code = card_code(folder).replace(repr(json.loads((folder / "export.json").read_text())["examples"][0]["text"]),
                                     repr(text))  # fmt: skip
    extra = ""
    if run == "bow":  # the card's featurizer gives Python's ids on every checked text
        extra = (
            "check = json.load(open(f'{folder}/featurizer_check.json'))['texts']\n"
            "print(json.dumps([ngram_ids(normalize(t['text'])) for t in check]))\n"
        )
    env = {"PATH": os.environ["PATH"], "HF_HUB_OFFLINE": "1", "HOME": str(project)}
    out = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER + code + extra], capture_output=True, text=True, env=env, cwd=project
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    label, *probs = lines[0].split()
    model = load_model(project / "runs" / run).cpu()
    feed = {k: v.numpy() for k, v in model.featurizer([normalize_tweet(text)]).items()}
    logits = ort.InferenceSession(str(folder / "onnx/model_quantized.onnx")).run(["logits"], feed)[0][0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert label == LABELS[int(expected.argmax())]
    assert [float(p) for p in probs] == pytest.approx(expected.tolist(), abs=1e-4)
    if run == "bow":
        check = json.loads((folder / "featurizer_check.json").read_text())["texts"]
        assert json.loads(lines[1]) == [row["ids"] for row in check]


def test_bow_export_records_the_featurizer_and_python_ids(project):
    folder = project / "exports" / "bow"
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == {"config.json", "README.md", "export.json", "featurizer_check.json", "onnx/model.onnx",
                     "onnx/model_quantized.onnx"}  # fmt: skip
    block = json.loads((folder / "config.json").read_text())["dl_portfolio"]
    assert {k: block[k] for k in ("num_buckets", "word_ngrams", "char_ngrams", "char_ngram_min", "max_tokens")} == {
        "num_buckets": 4096, "word_ngrams": 2, "char_ngrams": 4, "char_ngram_min": 3, "max_tokens": 512}  # fmt: skip
    assert block["inputs"] == ["ids"] and block["normalize"] == "tweeteval"
    check = json.loads((folder / "featurizer_check.json").read_text())
    model = load_model(project / "runs" / "bow")
    assert len(check["texts"]) == len(export_module.CHECK_TEXTS) + 18
    for row in check["texts"]:
        assert row["normalized"] == normalize_tweet(row["text"])
        assert row["ids"] == model.featurizer([row["normalized"]])["ids"][0].tolist()
        assert len(row["grams"]) == len([i for i in row["ids"] if i]) and all(0 <= i < 4096 for i in row["ids"])
    empty = next(row for row in check["texts"] if row["text"] == "")
    assert empty == {"text": "", "normalized": "", "grams": [], "ids": [0]}  # an empty text: one padding id


@pytest.mark.parametrize("run", ["bert", "bow"])
def test_model_card_numbers_equal_metrics_json(project, run):
    m, readme = metrics_of(project, run), (project / "exports" / run / "README.md").read_text()
    meta = yaml.safe_load(readme.split("---\n")[1])
    (result,) = meta["model-index"][0]["results"]
    assert result["dataset"] == {"name": m["dataset"]["name"], "type": "local", "split": "test"}
    values = {x["type"]: x["value"] for x in result["metrics"]}
    assert values == {"accuracy": m["metrics"]["accuracy"], "f1": m["metrics"]["macro_f1"]}
    assert meta["pipeline_tag"] == "text-classification" and meta["license"] in ("mit", "apache-2.0", "bsd-3-clause",
                                                                                   "other")  # fmt: skip
    examples = info_of(project, run)["examples"]
    assert meta["widget"] == [{"text": e["text"], "example_title": label_name(e["label"])} for e in examples]
    assert all(e["label"] == max(e["probs"], key=e["probs"].get) for e in examples)
    for label in LABELS:
        c = m["per_class"][label]
        row = f"| {label_name(label)} | {fmt_pct(c['precision'])} | {fmt_pct(c['recall'])} | {fmt_pct(c['f1'])} | "
        assert row + f"{fmt_int(c['support'])} |" in readme
    interval = (m.get("intervals") or {}).get("accuracy")
    headline = fmt_pct(m["metrics"]["accuracy"]) + (f" (95% CI {fmt_ci(interval)})" if interval else "")
    assert f"**{headline} accuracy**" in readme and "Sample data" not in readme
    assert "AutoModelForSequenceClassification" in readme or run == "bow"


def test_card_of_a_sample_run_says_so_and_shows_intervals(project):
    m = metrics_of(project, "bert")
    config = json.loads((project / "exports/bert/config.json").read_text())
    info = info_of(project, "bert")
    m["dataset"]["is_sample"] = True
    m["intervals"] = {"accuracy": {"low": 0.5, "high": 0.75}}
    text = card(m, config, info, "someone/tiny")
    assert SAMPLE_NOTE in text and "sample-data" in yaml.safe_load(text.split("---\n")[1])["tags"]
    assert f"{fmt_pct(m['metrics']['accuracy'])} (95% CI 50.0–75.0) accuracy" in text
    assert 'snapshot_download("someone/tiny")' in text and '"someone/tiny", { dtype: "q8" }' in text


def test_a_failed_export_leaves_the_previous_one_untouched(project, monkeypatch):
    folder = project / "exports" / "bow"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}

    def broken(model, example, path):  # dies halfway through writing the graph
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "export_onnx", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_module.export(project, project / "runs", "bow", latency_texts=5)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in (project / "exports").iterdir()) == ["bert", "bow"]  # no temp folder left


def test_export_mistakes_are_one_line(project, capsys, tmp_path):
    for argv, message in [
        (["--root", str(project), "--run", "nope"], "error: no run 'nope' in"),
        (["--root", str(tmp_path), "--runs_dir", str(project / "runs"), "--run", "bow"], "make report RUN=bow"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli(["export", *argv])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "exports").exists()


def test_verify_renders_each_card_again_and_names_an_edited_size_latency_or_score(project, tmp_path):
    """`verify` checks the Hub card of every export against its run's report and the export's own measurements."""
    from dl_portfolio.push_model import retargeted
    from dl_portfolio.verify import verify

    root = Path(shutil.copytree(project, tmp_path / "project", symlinks=True))
    assert verify(root).startswith("verify: ")
    info, m = info_of(root, "bert"), metrics_of(root, "bert")
    lat = info["latency_ms_per_tweet"]["int8"]
    edits = [  # (what the card shows, the hand edit, what it should be)
        (f"{info['sizes']['int8'] / 1e6:.1f} MB", f"{info['sizes']['int8'] / 1e6 + 1:.1f} MB"),
        (f"| {lat['p50']:.1f} / {lat['p95']:.1f} |", f"| {lat['p50'] + 1:.1f} / {lat['p95']:.1f} |"),
        (
            f"weighted-F1\n{fmt_pct(m['metrics']['weighted_f1'])}",
            f"weighted-F1\n{fmt_pct(m['metrics']['weighted_f1'] / 2)}",
        ),
    ]
    card_path = root / "exports" / "bert" / "README.md"
    text = card_path.read_text()
    source = "reports/bert/metrics.json with exports/bert/export.json"
    for old, new in edits:
        at = text.index(old)
        card_path.write_text(text[:at] + new + text[at + len(old) :])
        shown, should = (next(t for t in s.replace("|", " ").split() if t[0].isdigit()) for s in (new, old))
        if "weighted" in old:
            shown, should = new.split()[-1], old.split()[-1]
        with pytest.raises(UserError) as err:
            verify(root)
        line = text.count("\n", 0, at) + 1 + ("weighted" in old)
        fix = "was it edited by hand? `make export RUN=bert` writes it again"
        assert str(err.value) == f"exports/bert/README.md:{line}: shows {shown} where {source} gives {should}: {fix}"
    card_path.write_text(text)
    # push-model pointing the card at another repo gives the card that repo's rendering gives
    for name, data in retargeted(root / "exports" / "bert", "someone-else/renamed").items():
        (root / "exports" / "bert" / name).write_bytes(data)
    assert 'snapshot_download("someone-else/renamed")' in card_path.read_text()
    assert verify(root).startswith("verify: ")
    # an export.json without the repo its card names cannot have its card written again
    export_json = root / "exports" / "bert" / "export.json"
    saved = export_json.read_text()
    export_json.write_text(json.dumps({k: v for k, v in json.loads(saved).items() if k != "repo_id"}))
    with pytest.raises(UserError, match=r"^exports/bert/export.json names no Hub repo \(an older export\): "):
        verify(root)
    export_json.write_text(saved)
    # export.json's sizes are the files' own
    (root / "exports" / "bert" / "onnx" / "model_quantized.onnx").write_bytes(b"not the model")
    with pytest.raises(UserError, match=r"^exports/bert/export.json: says onnx/model_quantized.onnx is \d+ bytes but"):
        verify(root)
