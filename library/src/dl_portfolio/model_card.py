"""The Hugging Face model card (`exports/<run>/README.md`), written from metrics.json and the export's own numbers.

YAML metadata first (`model-index` with the test accuracy and macro-F1, license, tags, widget examples), then intended
use, data, training config, per-class table, limitations and how to load the export in Python and JavaScript.
Numbers in the metadata are metrics.json's values as they are; in the text every number goes through formats.py.
"""

import json
import os
from pathlib import Path

import yaml

from . import card_text, textprep
from .errors import UserError
from .formats import SAMPLE_NOTE, backbone_id, fmt_int, fmt_pct, fmt_seconds, hardware_line, label_name, model_name
from .layout import Layout
from .pages import per_class_table
from .writeup import bow_baseline, noun, with_ci  # the headline metric with its 95% interval, as on the write-up

# SPDX ids of the kit's licenses -> the Hub's license ids.
HUB_LICENSES = {"MIT": "mit", "Apache-2.0": "apache-2.0", "BSD-3-Clause": "bsd-3-clause"}


def repo_id(root: Path = Path(".")) -> str:
    """The Hub repo the model goes to: HF_REPO (environment or .env), else the project's `hub_repo` setting
    (`<github_username>/<project_slug>` when baked)."""
    found = os.environ.get("HF_REPO") or Layout(root).settings().hub_repo
    if not found:
        raise UserError(
            "no Hub repo named: set HF_REPO=user/name, or hub_repo under [tool.dl-portfolio] in pyproject.toml."
        )
    return found


def metadata(m: dict, config: dict, info: dict, repo_id: str, root: Path = Path(".")) -> dict:
    """The card's YAML header: what the Hub shows in its sidebar, its widget and its leaderboards."""
    block, data = config["dl_portfolio"], m["config"].get("data", {})
    spdx = Layout(root).settings().license
    dataset = {"name": m["dataset"]["name"], "type": data.get("hub_id") or m["dataset"]["source"], "split": m["split"]}
    if data.get("hub_config"):
        dataset["config"] = data["hub_config"]
    tags = ["text-classification", "onnx", "tweets", "dl-portfolio"]
    tags += ["transformers.js"] if block["encoder"] == "transformer" else ["bag-of-ngrams", "fasttext-style"]
    if m["dataset"]["is_sample"]:
        tags.append("sample-data")
    meta = {
        "language": ["en"],
        "license": HUB_LICENSES.get(spdx, "other"),
        "library_name": "transformers.js" if block["encoder"] == "transformer" else "onnx",
        "pipeline_tag": "text-classification",
        "tags": tags,
        "metrics": ["accuracy", "f1"],
        "widget": [{"text": e["text"], "example_title": label_name(e["label"])} for e in info["examples"]],
        "model-index": [
            {
                "name": repo_id.split("/")[-1],
                "results": [
                    {
                        "task": {"type": "text-classification", "name": m["task"]},
                        "dataset": dataset,
                        "metrics": [
                            {"type": "accuracy", "name": "Accuracy", "value": m["metrics"]["accuracy"]},
                            {
                                "type": "f1",
                                "name": "Macro-F1",
                                "value": m["metrics"]["macro_f1"],
                                "args": {"average": "macro"},
                            },
                        ],
                    }
                ],
            }
        ],
    }
    if spdx == "none":
        meta["license_name"] = "all-rights-reserved"
    if data.get("hub_id"):
        meta["datasets"] = [data["hub_id"]]
    if block["encoder"] == "transformer" and backbone_id(block["backbone"]):
        meta["base_model"] = backbone_id(block["backbone"])  # a Hub id (export resolves a local folder to its id)
    return meta


def training_table(m: dict, config: dict) -> str:
    """The settings that made the model, from the run's resolved config."""
    cfg = m["config"]
    model, data, trainer = cfg.get("model", {}), cfg.get("data", {}), cfg.get("trainer", {})
    block = config["dl_portfolio"]
    rows = [("Model", model_name(m["model"]))]
    if block["encoder"] == "transformer":
        rows += [
            ("Pooling", f"{block['pooling']} over tokens, then a linear layer"),
            ("Max length", block["max_length"]),
        ]
    else:
        rows += [("Buckets", fmt_int(block["num_buckets"])), ("Embedding size", model.get("embed_dim"))]
    rows += [
        ("Optimizer", f"{model.get('optimizer', 'adamw')}, learning rate {model.get('lr')}"),
        ("Epochs (max)", trainer.get("max_epochs")),
        ("Batch size", data.get("batch_size")),
        ("Seed", m.get("seed")),
        ("Hardware", hardware_line(m.get("hardware"))),
        ("Training time", fmt_seconds(m.get("train_wall_seconds"))),
    ]
    return "| Setting | Value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)


def export_table(info: dict) -> str:
    """Sizes, agreement with the checkpoint and CPU latency of the two ONNX files."""
    p, lat = info["parity"], info["latency_ms_per_tweet"]
    rows = [
        "| File | Size | Same label as PyTorch | Accuracy | CPU ms per tweet (p50 / p95) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, path, agree in (
        ("fp32", "onnx/model.onnx", p["fp32_label_agreement"]),
        ("int8", "onnx/model_quantized.onnx", p["int8_label_agreement"]),
    ):
        rows.append(
            f"| `{path}` ({key}) | {info['sizes'][key] / 1e6:.1f} MB | {fmt_pct(agree)} | "
            f"{fmt_pct(p['accuracy'][key])} | {lat[key]['p50']:.1f} / {lat[key]['p95']:.1f} |"
        )
    return "\n".join(rows) + "\n"


def normalize_code(scheme: str) -> str:
    """The run's text preparation (dl_portfolio.textprep) as standalone Python: the same regexes, read from it."""
    markup = (
        f'    text = re.sub(r"{textprep.ENTITY.pattern}", lambda m: m.group(1).strip(), text)  # {{@Name@}} -> Name\n'
        f'    text = re.sub(r"{textprep.USERNAME.pattern}", "@user", text)\n'
        f'    text = re.sub(r"{textprep.URL_TOKEN.pattern}", "http", text)\n'
        if scheme == "tweettopic"
        else ""
    )
    return (
        f"def normalize(text):  # as in training ({scheme}): @mentions -> @user, links -> http, whitespace collapsed\n"
        + markup
        + f'    text = re.sub(r"{textprep.URL.pattern}", "http", text)\n'
        f'    text = re.sub(r"{textprep.USER.pattern}", "@user", text)\n'
        f'    return re.sub(r"{textprep.SPACE.pattern}", " ", text).strip()\n'
    )


def python_example(config: dict, repo_id: str, text: str) -> str:
    """Runnable Python with only onnxruntime, numpy, tokenizers and huggingface_hub: no torch, no project code."""
    block = config["dl_portfolio"]
    scheme = textprep.scheme(block["normalize"])
    prepare = "normalize(t)" if scheme != "none" else "t"
    bow = block["encoder"] == "bow"
    head = "import json\n" + ("import re\n" if bow or scheme != "none" else "") + ("import zlib\n" if bow else "")
    head += "\nimport numpy as np\nimport onnxruntime as ort\n"
    head += "from huggingface_hub import snapshot_download\n"
    if block["encoder"] == "transformer":
        head += "from tokenizers import Tokenizer\n"
    code = head + f'\nfolder = snapshot_download("{repo_id}")\n'
    code += 'config = json.load(open(f"{folder}/config.json"))\nc = config["dl_portfolio"]\n'
    code += 'session = ort.InferenceSession(f"{folder}/onnx/model_quantized.onnx")  # or onnx/model.onnx (fp32)\n\n'
    code += normalize_code(scheme) if scheme != "none" else ""
    if block["encoder"] == "transformer":
        code += (
            '\n\ntokenizer = Tokenizer.from_file(f"{folder}/tokenizer.json")\n'
            'tokenizer.enable_truncation(c["max_length"])\n'
            'tokenizer.enable_padding(pad_id=c["pad_token_id"])\n\n\n'
            "def classify(texts):\n"
            f"    enc = tokenizer.encode_batch([{prepare} for t in texts])\n"
            '    feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),\n'
            '            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}\n'
        )
    else:
        code += (
            "\n\ndef ngram_ids(text):  # hashed word n-grams and character n-grams, as in training\n"
            '    words = re.findall(c["token_pattern"], text.lower())\n'
            '    grams = [" ".join(words[i : i + n]) for n in range(1, c["word_ngrams"] + 1)\n'
            "             for i in range(len(words) - n + 1)]\n"
            '    if c["char_ngrams"]:\n'
            "        for word in words:\n"
            '            p = f"<{word}>"\n'
            '            grams += [f"#{p[i : i + n]}" for n in range(c["char_ngram_min"], c["char_ngrams"] + 1)\n'
            "                      for i in range(len(p) - n + 1)]\n"
            '    ids = [zlib.crc32(g.encode()) % (c["num_buckets"] - 1) + 1 for g in grams[: c["max_tokens"]]]\n'
            "    return ids or [0]\n\n\n"
            "def classify(texts):\n"
            f"    rows = [ngram_ids({prepare}) for t in texts]\n"
            "    ids = np.zeros((len(rows), max(map(len, rows))), dtype=np.int64)  # 0 is padding\n"
            "    for i, row in enumerate(rows):\n"
            "        ids[i, : len(row)] = row\n"
            '    feed = {"ids": ids}\n'
        )
    code += (
        '    logits = session.run(["logits"], feed)[0]\n'
        "    probs = np.exp(logits - logits.max(1, keepdims=True))\n"
        "    probs /= probs.sum(1, keepdims=True)\n"
        '    return [(config["id2label"][str(p.argmax())], p) for p in probs]\n\n\n'
        f"for label, probs in classify([{text!r}]):\n"
        '    print(label, " ".join(f"{p:.4f}" for p in probs))\n'
    )
    return code


def javascript_example(config: dict, repo_id: str, text: str) -> str:
    """transformers.js for the transformer; for the bag of n-grams, onnxruntime-web with the featurizer above."""
    block = config["dl_portfolio"]
    if block["encoder"] != "transformer":
        return (
            "The bag of n-grams has no tokenizer: run `onnx/model_quantized.onnx` with `onnxruntime-web` (input "
            "`ids`, int64 `[batch, n-grams]`, 0 = padding; output `logits`) and port `ngram_ids` above to JavaScript. "
            "`featurizer_check.json` lists texts with the ids Python computes, to test the port against.\n"
        )
    note = (
        "\nNormalise the text first as in the Python example (`@mentions` -> `@user`, links -> `http`): the model was "
        "trained on normalised tweets.\n"
        if textprep.scheme(block["normalize"]) != "none"
        else "\n"
    )
    return (
        "```js\n"
        'import { pipeline } from "@huggingface/transformers";\n\n'
        f'const classify = await pipeline("text-classification", "{repo_id}", '
        + '{ dtype: "q8" });  // "fp32": onnx/model.onnx\n'
        + f"console.log(await classify({json.dumps(text)}, "
        + "{ top_k: null }));\n"
        "```\n" + note
    )


def architecture_note(config: dict) -> str:
    """Why there are no transformers weights: no standard head is this model."""
    block = config["dl_portfolio"]
    if block["encoder"] != "transformer":
        return (
            "A fastText-style bag of n-grams: hashed word and character n-grams, the mean of their embeddings, a "
            "linear layer. No `transformers` class represents it, so the ONNX graph is the portable form.\n"
        )
    return (
        f"The encoder `{block['backbone']}`, {block['pooling']} pooling over the real tokens, then one linear layer "
        "(dropout only in training). No standard `AutoModelForSequenceClassification` head is exactly this "
        "(BERT's pools the first token through a dense layer and tanh; RoBERTa's head adds a dense layer), so there "
        "are no `transformers` weights here: the ONNX graph, with the pooling inside it, is the portable form, and "
        "its logits equal the training checkpoint's.\n"
    )


def card(m: dict, config: dict, info: dict, repo_id: str, root: Path = Path(".")) -> str:
    """The whole README.md of the export folder of the project at `root`."""
    links = m.get("links") or {}
    example = info["examples"][0]["text"] if info["examples"] else "Great match tonight!"
    sample = f"> **Sample data.** {SAMPLE_NOTE}\n\n" if m["dataset"]["is_sample"] else ""
    bow = bow_baseline(m)
    majority = fmt_pct(m["baselines"]["majority"]["macro_f1"])
    baselines = f"always predicting the most frequent {noun(m)} gets {majority}"
    if bow:
        baselines = f"a bag-of-n-grams baseline gets {fmt_pct(bow['macro_f1'])}, " + baselines
    normalize = config["dl_portfolio"]["normalize"]
    normalised = textprep.describe(normalize) + (
        " Do the same before calling it, as the examples below do." if textprep.scheme(normalize) != "none" else ""
    )
    p = info["parity"]
    header = yaml.safe_dump(metadata(m, config, info, repo_id, root), sort_keys=False, allow_unicode=True, width=1000)
    pairs = (("Write-up", links.get("writeup")), ("Code", links.get("repo")))
    linked = " · ".join(f"[{k}]({v})" for k, v in pairs if v)
    return f"""---
{header}---

# {m["project"]}

{sample}{card_text.task(m)}
On {fmt_int(m["dataset"]["splits"]["test"])} test examples of {m["dataset"]["name"]} it reaches
**{with_ci(m, "accuracy")} accuracy** and **{with_ci(m, "macro_f1")} macro-F1**; {baselines} (macro-F1).
{linked}

## Model

{architecture_note(config)}
## Intended use

{card_text.INTENDED_USE}

**Out of scope:** {card_text.OUT_OF_SCOPE}

## Data

{m["dataset"]["name"]} (source `{m["dataset"]["source"]}`): {fmt_int(m["dataset"]["splits"]["train"])} training,
{fmt_int(m["dataset"]["splits"]["validation"])} validation and {fmt_int(m["dataset"]["splits"]["test"])} test
examples. {normalised}

## Training

{training_table(m, config)}
Run `{m["run"]}`; the checkpoint kept is the one with the best validation macro-F1.

## Results on the {m["split"]} split

Accuracy {with_ci(m, "accuracy")}, macro-F1 {with_ci(m, "macro_f1")}, weighted-F1
{fmt_pct(m["metrics"]["weighted_f1"])}.

{per_class_table(m)}
## Files

{export_table(info)}
The fp32 graph's logits equal the PyTorch checkpoint's within {p["fp32_tolerance"]:g} on the {fmt_int(p["texts"])}
test texts (largest difference {p["fp32_max_abs_diff"]:.1e}); the int8 copy gives the same label on
{fmt_pct(p["int8_label_agreement"])} of them. Latency: one tweet per call, featurizing included, onnxruntime on
{info["latency_ms_per_tweet"]["threads"]} CPU threads. `config.json` holds `id2label` and, under `dl_portfolio`, how
to featurize; `export.json` all the numbers above.

## Limitations

{card_text.limitations(m)}\
- The int8 model trades a little agreement with the fp32 one for a quarter of the size (table above).

## Ethical considerations

{card_text.ETHICS}
## How to use

Python, with `onnxruntime`, `numpy`, `tokenizers` and `huggingface_hub` only (no PyTorch):

```python
{python_example(config, repo_id, example)}```

JavaScript:

{javascript_example(config, repo_id, example)}"""
