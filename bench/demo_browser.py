"""The Try it page in Chromium against Python onnxruntime on real tweets: latency, agreement, probability gaps.

    python bench/demo_browser.py PROJECT TEST_CSV [--texts 500] [--screenshot try.png]

PROJECT is a baked project after `make export` and `make docs` (its site/ has the page and the model); TEST_CSV a
`text,label` file (e.g. ../shared/data/tweeteval_emotion/test.csv). The built site is served on localhost and
every request elsewhere is refused; each tweet is typed into the page, and the page's label, probabilities and
in-page time (performance.now()) are read back and compared with the project's own featurizer + onnxruntime on
the same int8 file, one tweet per call, one thread. Prints one JSON object.
"""

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
from tests.browser import browser, serve  # noqa: E402  (the kit's Chromium: offline, GitHub's API answered locally)

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright downloads nothing


def python_probs(project: Path, folder: Path, texts: list[str]) -> tuple[list, list[float]]:
    """The exported int8 model's probabilities and per-tweet milliseconds in Python (featurizing included)."""
    from dl_portfolio.textprep import prepare  # the run's own text preparation scheme
    from transformers import AutoTokenizer

    block = json.loads((folder / "config.json").read_text())["dl_portfolio"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # as the page runs: one WebAssembly thread
    session = ort.InferenceSession(str(folder / "onnx/model_quantized.onnx"), options)
    probs, ms = [], []
    for text in texts:
        start = time.perf_counter()
        text = prepare([text], block["normalize"])[0]
        enc = tokenizer([text], truncation=True, max_length=block["max_length"], return_tensors="np")
        logits = session.run(["logits"], {k: enc[k] for k in ("input_ids", "attention_mask")})[0][0]
        ms.append(1000 * (time.perf_counter() - start))
        e = np.exp(logits.astype(np.float64) - logits.max())
        probs.append(e / e.sum())
    return probs, ms


def p50_p95(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    return statistics.median(values), statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    """Measure and print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("test_csv", type=Path)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    with args.test_csv.open(newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)][: args.texts]
    site = args.project / "site"
    info = json.loads((site / "assets/demo/demo.json").read_text())
    folder = args.project / "exports" / info["run"]
    labels = info["labels"]
    py, py_ms = python_probs(args.project, folder, texts)

    ms, same, gaps = [], 0, []
    with serve(site) as base, browser(CHROMIUM, base) as tab:
        page = tab.page
        start = time.time()
        page.goto(base + "try/")
        page.wait_for_selector(".dl-demo[data-state=ready]", timeout=120_000)
        ready_s = time.time() - start
        for text, p in zip(texts, py, strict=True):
            page.fill("#dl-demo-text", text)
            page.click(".dl-demo button[type=submit]")
            page.wait_for_function("t => document.querySelector('.dl-demo__result')?.dataset.text === t", arg=text)
            rows = page.eval_on_selector_all(
                ".dl-demo__row", "rs => rs.map(r => [r.dataset.label, Number(r.dataset.prob)])"
            )
            got = dict(rows)
            ms.append(float(page.get_attribute(".dl-demo__result", "data-ms")))
            same += page.inner_text(".dl-demo__label") == labels[int(np.argmax(p))]
            gaps.append(max(abs(got[label] - p[i]) for i, label in enumerate(labels)))
        if args.screenshot:
            page.screenshot(path=str(args.screenshot), full_page=True)
        errors, foreign = tab.errors, tab.foreign
    chromium, python = p50_p95(ms[5:]), p50_p95(py_ms[5:])  # the first calls warm up
    print(json.dumps({
        "texts": len(texts), "model_bytes": info["bytes"], "page_ready_s": round(ready_s, 2),
        "chromium_ms_p50_p95": [round(x, 1) for x in chromium],
        "python_1_thread_ms_p50_p95": [round(x, 1) for x in python],
        "same_label": same / len(texts), "probs_within_0.01": sum(g <= 0.01 for g in gaps) / len(gaps),
        "prob_gap_median": statistics.median(gaps), "prob_gap_max": max(gaps),
        "console_errors": errors, "requests_elsewhere": foreign,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
