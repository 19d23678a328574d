"""The write-up's Try it page in a real headless Chromium (Playwright on the system `chromium`), offline: the site is
built (`demo` + `mkdocs build --strict`) from a real export of a tiny trained run of this project's model and served
on localhost; the labels and probabilities the page shows equal Python onnxruntime's on the same int8 model, and the
JavaScript text normalisation and n-gram hashing give Python's exact ids.

The browser tests are skipped, with the reason, where there is no `chromium` or no node_modules/ (`npm ci`, or
NODE_MODULES=<dir> with the packages installed elsewhere).
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dl_portfolio import demo, screenshot, textprep
from dl_portfolio.errors import UserError
from dl_portfolio.export import export
from dl_portfolio.formats import label_name
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.screenshot import serve  # the site on loopback, as `make docs` serves it for its picture
from dl_portfolio.textprep import EXAMPLE, EXAMPLE_PREPARED, normalize_tweet
from PIL import Image
from tweet_topic_classifier.encoders import HashedNgrams

from .conftest import LABELS, PACKAGE, PROJECT, export_run_args, write_splits

NODE_MODULES = Path(os.environ.get("NODE_MODULES") or PROJECT / "node_modules")
CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
# The run each project copy holds, by its folder's name: the demo tests run once for each encoder a project may have.
RUNS = {"transformer": "bert", "bow": "bow"}
HUB_REPO = "jdoe/tiny-demo"
GITHUB_API = "https://api.github.com/"
# What visitors type, and what breaks a port of Python's regexes: Unicode words and digits, accents (composed and
# combining), emoji with skin tones and joiners, underscores, mentions inside e-mail addresses, odd whitespace.
TWEETS = [
    "What a goal in the last minute!! @someone 3-1 #football https://t.co/abc",
    "my puppy loves to fetch his bone at the park, woof",
    "the kitten purrs on my lap, whiskers everywhere",
    "Café déjà vu: naïve façade, Straße & ÆØÅ, cafe\u0301",
    "emoji 😀👍🏽 👨‍👩‍👧 ❤️ and 中文字符 and العربية ١٢٣ and ½ Ⅻ",
    "mail me@example.com or @a_very_long_user_name_indeed at www.example.org/päth?q=1",
    "\u00a0 tabs\tand\nnewlines\u2003and\u3000ideographic\u0085next\u200bzero-width\ufeffbom  ",
    "don't stop-believing... it's 2024_rocks __init__ ΟΔΟΣ İstanbul",
    "x" * 300 + " " + "tank fins " * 60,
    "",
]
# In CI (`make test` installs both) a missing browser or package fails the tests instead of skipping them.
NO_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no `chromium` on PATH (Debian: apt install chromium)"
)
NO_NPM = pytest.mark.skipif(
    not (NODE_MODULES / "onnxruntime-web").is_dir() and not os.environ.get("CI"),
    reason=f"no {NODE_MODULES}/onnxruntime-web: run `npm ci` (or set NODE_MODULES to a folder that has it)",
)


def run_args(root: Path, data: Path, run: str, encoder: str, backbone: str) -> list[str]:
    """The export tests' run, trained longer (the bag of n-grams) or cut shorter (the tiny BERT)."""
    if encoder == "bow":
        return [*export_run_args(root, data, run, encoder, backbone), "--model.lr", "5.0", "--trainer.max_epochs", "6"]
    # max_length 48 < the tiny BERT's 64 positions: the long tweet is truncated, not refused
    return [*export_run_args(root, data, run, encoder, backbone), "--model.max_length", "48"]


@pytest.fixture(scope="module", params=list(RUNS))
def project(tmp_path_factory, request) -> Path:
    """A project copy with one run of this project's model (a tiny BERT or a bag of n-grams): trained, reported and
    exported."""
    tmp = tmp_path_factory.mktemp("demo")
    data = write_splits(tmp / "data")
    encoder = request.param
    root = tmp / encoder
    root.mkdir()
    shutil.copytree(PROJECT / "docs", root / "docs", ignore=shutil.ignore_patterns("vendor", "model"))
    for name in ("mkdocs.yml", "README.md", "pyproject.toml"):
        shutil.copy(PROJECT / name, root / name)
    backbone = request.getfixturevalue("tiny_bert") if encoder == "transformer" else ""
    train(run_args(root, data, RUNS[encoder], encoder, backbone))
    report(root, root / "runs", RUNS[encoder])
    export(root, root / "runs", RUNS[encoder], latency_texts=5)
    return root


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (each test opens its own context: no shared cache or state)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def build_site(root: Path, run: str, name: str = "site", limit: int = demo.SITE_LIMIT) -> Path:
    """`make docs` for `run` on a copy of docs/ (docs-NAME/): the demo files, then a strict MkDocs build into NAME/."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    docs = root / f"docs-{name}"
    shutil.copytree(root / "docs", docs)
    demo.build(root, docs, NODE_MODULES, run, limit)
    build(load_config(str(root / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(root / name), strict=True))
    return root / name


@pytest.fixture(scope="module")
def site(project) -> Path:
    """The site built with the run's model served from it, as `make docs` does."""
    return build_site(project, RUNS[project.name])


@contextlib.contextmanager
def tab(chromium, base: str, hub: Path | None = None, script: str | None = None):
    """A fresh tab: only `base` is reachable (with `hub`, the Hub repo too, answered from that folder; the GitHub
    API, answered here); every other request is refused and recorded. Yields (page, console errors, refused URLs)."""
    errors, foreign = [], []
    hub_base = f"https://huggingface.co/{HUB_REPO}/resolve/main/"

    def route(r):
        url = r.request.url
        if url.startswith(base):
            r.continue_()
        elif url.startswith(GITHUB_API):  # Material asks for the repo's stars on every page: answered here
            r.fulfill(json={"stargazers_count": 1, "forks_count": 0}, headers={"Access-Control-Allow-Origin": "*"})
        elif hub is not None and url.startswith(hub_base):
            r.fulfill(path=str(hub / url[len(hub_base) :]), headers={"Access-Control-Allow-Origin": "*"})
        else:
            foreign.append(url)
            r.abort("blockedbyclient")

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "assert") else None)
        page.on("pageerror", lambda err: errors.append(str(err)))
        if script:
            page.add_init_script(script)
        yield page, errors, foreign
    finally:
        context.close()


def wait_ready(page) -> str:
    page.wait_for_selector(".dl-demo:not([data-state=loading])", timeout=60_000)
    return page.get_attribute(".dl-demo", "data-state")


def classify_in_page(page, text: str) -> dict:
    """Type `text`, press Classify, read what the page shows: label, percentages, exact probabilities, time."""
    page.fill("#dl-demo-text", text)
    page.click(".dl-demo button[type=submit]")
    page.wait_for_function(
        "t => document.querySelector('.dl-demo__result')?.dataset.text === t", arg=text, timeout=30_000
    )
    rows = page.eval_on_selector_all(
        ".dl-demo__row",
        "rs => rs.map(r => [r.dataset.label, Number(r.dataset.prob), r.querySelector('.dl-demo__pct').textContent])",
    )
    return {
        "label": page.inner_text(".dl-demo__label"),
        "shown": {label: float(pct.rstrip("%")) / 100 for label, _, pct in rows},
        "probs": {label: p for label, p, _ in rows},
        "ms": float(page.get_attribute(".dl-demo__result", "data-ms")),
    }


def python_probs(folder: Path, texts: list[str]) -> list[dict]:
    """Python onnxruntime on the same int8 model and the export's own featurizer: {label: probability} per text."""
    import onnxruntime as ort

    config = json.loads((folder / "config.json").read_text())
    block, labels = config["dl_portfolio"], config["dl_portfolio"]["labels"]
    session = ort.InferenceSession(str(folder / demo.MODEL_FILE))
    if block["encoder"] == "bow":
        featurizer = HashedNgrams(block["num_buckets"], block["word_ngrams"], block["char_ngrams"], block["max_tokens"])
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(folder)
    out = []
    for text in texts:
        prepared = normalize_tweet(text) if block["normalize"] else text
        if block["encoder"] == "bow":
            feed = {"ids": featurizer([prepared])["ids"].numpy()}
        else:
            enc = tokenizer([prepared], truncation=True, max_length=block["max_length"], return_tensors="np")
            feed = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        logits = session.run(["logits"], feed)[0][0].astype(np.float64)
        p = np.exp(logits - logits.max())
        out.append(dict(zip(labels, (p / p.sum()).tolist(), strict=True)))
    return out


def top(probs: dict) -> set[str]:
    """The most probable label, or the labels tied with it within 1e-4 (an int8 model can swap near-exact ties)."""
    best = max(probs.values())
    return {label for label, p in probs.items() if p >= best - 1e-4}


@NO_CHROMIUM
@NO_NPM
def test_try_page_shows_what_python_onnxruntime_predicts(project, site, chromium, tmp_path):
    run = RUNS[project.name]
    info = json.loads((site / "assets" / "demo" / "demo.json").read_text())
    assert info["source"] == "site" and info["labels"] == LABELS and info["run"] == run
    assert info["names"] == ["Cats", "Dogs", "Fish"] and info["noun"] == "class"  # no class_noun: the neutral word
    typed = [t for t in TWEETS if t.strip()]
    expected = python_probs(project / "exports" / run, typed)
    with serve(site) as base, tab(chromium, base) as (page, errors, foreign):
        page.goto(base + "try/")
        assert wait_ready(page) == "ready", page.inner_text(".dl-demo__status")
        assert f"Model: run {run}," in page.inner_text(".dl-demo__source")
        assert "served with this site" in page.inner_text(".dl-demo__source")
        for text, want in zip(typed, expected, strict=True):
            got = classify_in_page(page, text)
            assert got["label"] in {label_name(x) for x in top(want)}, text  # the readable name, not the id
            assert set(got["shown"]) == set(LABELS)
            for label, p in want.items():
                assert abs(got["shown"][label] - p) <= 0.01 and abs(got["probs"][label] - p) <= 1e-4, (text, label)
        shot = page.screenshot(path=str(tmp_path / f"try-{run}.png"), full_page=True)
        assert not errors, errors
        assert not foreign, f"the page asked third parties for {foreign}"
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"


@NO_CHROMIUM
@NO_NPM
def test_javascript_featurizer_gives_pythons_exact_ids(project, site, chromium):
    """textprep.js in Chromium against text.normalize_tweet and encoders.HashedNgrams (and, for a bag-of-n-grams
    export, against the ids its featurizer_check.json records)."""
    folder = project / "exports" / RUNS[project.name]
    block = {"num_buckets": 4096, "word_ngrams": 2, "char_ngrams": 4, "max_tokens": 512}
    check = []
    if project.name == "bow":
        block = json.loads((folder / "config.json").read_text())["dl_portfolio"]
        check = json.loads((folder / "featurizer_check.json").read_text())["texts"]
    texts = TWEETS + [row["text"] for row in check] + ["@@x @ a@b.c @_ _@y", "http://a https://b  www.c HTTP://d"]
    featurizer = HashedNgrams(block["num_buckets"], block["word_ngrams"], block["char_ngrams"], block["max_tokens"])
    with serve(site) as base, tab(chromium, base) as (page, errors, _):
        page.goto(base + "try/")
        got = page.evaluate(
            """async ([texts, block]) => {
                const m = await import("../javascripts/textprep.js");
                return texts.map((t) => {
                    const n = m.normalizeTweet(t);
                    return {normalized: n, grams: m.grams(n, block), ids: m.hashedIds(n, block)};
                });
            }""",
            [texts, block],
        )
        schemes = page.evaluate(
            """async ([texts, schemes]) => {
                const m = await import("../javascripts/textprep.js");
                return schemes.map((s) => texts.map((t) => m.prepareText(t, s)));
            }""",
            [[*texts, EXAMPLE, "{@ a\u2028b @} {{URL}}{{USERNAME}}"], list(textprep.SCHEMES)],
        )
        assert not errors, errors
    # Every scheme of dl_portfolio.textprep, in the browser as in Python (TweetTopic's markup included).
    assert dict(zip(textprep.SCHEMES, schemes, strict=True))["tweettopic"][-2] == EXAMPLE_PREPARED
    for scheme, prepared in zip(textprep.SCHEMES, schemes, strict=True):
        assert prepared == textprep.prepare([*texts, EXAMPLE, "{@ a\u2028b @} {{URL}}{{USERNAME}}"], scheme), scheme
    for text, js in zip(texts, got, strict=True):
        normalized = normalize_tweet(text)
        assert js["normalized"] == normalized, text
        assert js["grams"] == featurizer.grams(normalized), text
        assert js["ids"] == featurizer([normalized])["ids"][0].tolist(), text
    for row, js in zip(check, got[len(TWEETS) :], strict=False):
        assert (js["normalized"], js["ids"]) == (row["normalized"], row["ids"]), row["text"]


@NO_CHROMIUM
@NO_NPM
def test_a_model_over_the_pages_limit_loads_from_the_hub_repo(project, chromium, monkeypatch):
    monkeypatch.setenv("HF_REPO", HUB_REPO)
    folder = project / "exports" / RUNS[project.name]
    site = build_site(
        project, RUNS[project.name], "site-hub", limit=1000
    )  # the int8 file is over 1000 bytes: the Hub serves it
    info = json.loads((site / "assets" / "demo" / "demo.json").read_text())
    assert info["source"] == "hub" and info["base"] == f"https://huggingface.co/{HUB_REPO}/resolve/main/"
    assert not (project / "docs-site-hub" / "assets" / "demo" / "model").exists()
    assert not (site / "assets" / "demo" / "model").exists()
    want = python_probs(folder, [TWEETS[0]])[0]
    with serve(site) as base, tab(chromium, base, hub=folder) as (page, errors, foreign):
        page.goto(base + "try/")
        assert wait_ready(page) == "ready", page.inner_text(".dl-demo__status")
        assert f"loaded from the Hugging Face Hub (https://huggingface.co/{HUB_REPO})" in page.inner_text(
            ".dl-demo__source"
        )
        got = classify_in_page(page, TWEETS[0])
        assert got["label"] in {label_name(x) for x in top(want)}
        assert not errors and not foreign, (errors, foreign)


@NO_CHROMIUM
@NO_NPM
def test_without_webassembly_or_library_the_page_says_why(site, chromium, tmp_path):
    with serve(site) as base, tab(chromium, base, script="delete window.WebAssembly") as (page, errors, foreign):
        page.goto(base + "try/")
        assert wait_ready(page) == "error"
        assert page.inner_text(".dl-demo__status").startswith("This browser cannot run the demo: it needs WebAssembly")
        assert page.is_disabled(".dl-demo button[type=submit]") and not errors and not foreign
    site = shutil.copytree(site, tmp_path / "site", ignore=shutil.ignore_patterns("vendor"))  # built without npm ci
    with serve(site) as base, tab(chromium, base) as (page, errors, foreign):
        page.goto(base + "try/")
        assert wait_ready(page) == "error"
        status = page.inner_text(".dl-demo__status")
        assert status.startswith("The demo could not start: the JavaScript library is missing from this build")
        assert status.endswith("run `npm ci`, then `make docs`") and not foreign


def test_demo_build_without_export_keeps_docs_and_mistakes_are_one_line(project, tmp_path):
    root = tmp_path / "fresh"
    shutil.copytree(PROJECT / "docs", root / "docs", ignore=shutil.ignore_patterns("vendor", "model"))
    shipped = (root / "docs" / "assets" / "demo" / "demo.json").read_text()
    notes = demo.build(root, root / "docs", tmp_path / "no_node_modules")
    assert (root / "docs" / "assets" / "demo" / "demo.json").read_text() == shipped  # no run: nothing changes
    assert json.loads(shipped) == {"file": None, "message": demo.EMPTY}
    assert notes == [  # no model: no library either (and no `npm ci`)
        "model: no export of the latest run yet (`make export`): the page keeps what docs/ has",
        "library: not needed until the page has a model to run",
    ]
    assert not (root / "docs" / "assets" / "demo" / "vendor").exists()
    (root / "runs" / "bert").mkdir(parents=True)
    (root / "runs" / "bert" / "config.yaml").write_text("model: {}\n")  # a run, trained but not exported
    with pytest.raises(UserError, match=r"has no exported model: run `make export RUN=bert` first\.$"):
        demo.build(root, root / "docs", NODE_MODULES, "bert")
    docs = shutil.copytree(root / "docs", tmp_path / "docs")
    notes = demo.build(project, docs, tmp_path / "no_node_modules", RUNS[project.name])  # a model, but no library
    assert notes[-1] == f"library: {tmp_path / 'no_node_modules'}/ is missing, so the Try it page cannot run: " + (
        "install Node.js, `npm ci`"
    )
    assert json.loads((docs / "assets" / "demo" / "demo.json").read_text())["file"] == demo.MODEL_FILE
    broken = tmp_path / "node_modules" / "onnxruntime-web"
    broken.mkdir(parents=True)
    with pytest.raises(UserError, match=r"lacks onnxruntime-web/dist/ort.wasm.min.mjs, .*run `npm ci`"):
        demo.copy_vendor(broken.parent, root / "docs" / "assets" / "demo" / "vendor")
    assert not (root / "docs" / "assets" / "demo" / "vendor").exists()


@NO_CHROMIUM
@NO_NPM
def test_the_readme_opens_with_a_picture_of_the_try_it_page_answering_a_test_text(project, site):
    """`screenshot` (`make docs` runs it after the build): a PNG of the page answering with a readable name, the
    README's first picture, linked to the live page, which the built site has."""
    docs = project / "docs-site"  # the docs folder `site` was built from

    def take() -> str:  # in its own process, as `make docs` runs it (the module's browser holds this thread's loop)
        command = [sys.executable, "-m", PACKAGE, "screenshot", "--root", str(project), "--site", str(site)]
        out = subprocess.run([*command, "--docs", str(docs)], capture_output=True, text=True)
        assert out.returncode == 0 and not out.stderr, out.stderr
        return out.stdout

    line = take()
    png = (docs / "assets" / "try-it.png").read_bytes()
    shown = screenshot.text_of(png)
    answer = shown["Answer"].rsplit(" (", 1)[0]
    assert line == (
        f'screenshot: docs/assets/try-it.png: "{shown["Text"][:60]}" -> {shown["Answer"]}; the README opens with it\n'
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (site / "assets" / "try-it.png").read_bytes() == png
    assert answer in {"Cats", "Dogs", "Fish"} and shown["Title"] == "Try it"  # the readable name, not the id
    readme = (project / "README.md").read_text()
    url = "https://your-github-username.github.io/tweet-topic-classifier/"  # the bake's site_url
    block = f"[![The Try it page answering a test tweet in the browser](docs/assets/try-it.png)]({url}try/)"
    assert f"<!-- picture:start -->\n{block}\n<!-- picture:end -->" in readme
    assert readme.index("<!-- picture:start -->") < readme.index("## ")  # before any section: what a reviewer sees
    assert (site / "try" / "index.html").is_file()  # the link's page, in the built site
    with Image.open(docs / "assets" / "try-it.png") as image:
        assert image.size[0] == screenshot.VIEWPORT["width"] and image.size[1] > 400
        assert image.text["Answer"] == shown["Answer"]  # any PNG reader sees what it shows
    # The same site and text: the picture is not taken again (no churn in git).
    assert take() == "screenshot: docs/assets/try-it.png is up to date; the README opens with it\n"
    assert (docs / "assets" / "try-it.png").read_bytes() == png
