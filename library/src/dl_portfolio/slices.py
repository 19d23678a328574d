"""Where the model is weaker: accuracy on slices of the test set a reader of tweets cares about, and one invariance
check (other user names and links must not change the answer)."""

import re

from .metrics import bootstrap_interval, scorer

HASHTAG = re.compile(r"#\w")
MENTION = re.compile(r"(?<!\w)@\w")
URL = re.compile(r"(?:https?://|www\.)\S+|\bhttp\b")
# Emoji and pictographs (the common blocks; skin tones and joiners ride along with them).
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
SLICES = {
    "up to 10 words": lambda t: len(t.split()) <= 10,
    "11 to 25 words": lambda t: 10 < len(t.split()) <= 25,
    "over 25 words": lambda t: len(t.split()) > 25,
    "with a hashtag": lambda t: bool(HASHTAG.search(t)),
    "without a hashtag": lambda t: not HASHTAG.search(t),
    "with a mention": lambda t: bool(MENTION.search(t)),
    "with a link": lambda t: bool(URL.search(t)),
    "with an emoji": lambda t: bool(EMOJI.search(t)),
    "without an emoji": lambda t: not EMOJI.search(t),
}


def slice_accuracy(texts: list[str], gold: list[int], pred: list[int], seed: int = 0) -> list[dict]:
    """Accuracy with its 95% bootstrap interval on each slice that has examples: `[{"name", "examples", ...}]`."""
    import numpy as np

    out, accuracy = [], scorer("accuracy", 0)
    for name, member in SLICES.items():
        idx = [i for i, t in enumerate(texts) if member(t)]
        if not idx:
            continue
        data = (np.asarray([gold[i] for i in idx]), np.asarray([pred[i] for i in idx]))
        out.append(
            {
                "name": name,
                "examples": len(idx),
                "accuracy": accuracy(*data),
                **bootstrap_interval(data, accuracy, seed),
            }
        )
    return out


def swap_names_and_links(text: str) -> str:
    """The same text with other user names and other links."""
    text = URL.sub("https://example.org/another/page", text)
    return re.sub(r"(?<!\w)@\w+", "@another_account", text)


def invariance(texts: list[str], pred: list[int], predict) -> dict:
    """The share of test texts with a mention or a link whose prediction stays the same when those are swapped.

    `predict(texts) -> label ids`. With `data.normalize` on, mentions and links are normalised away before the
    model sees them, so the rate is 100% by construction; without it, it measures a real invariance.
    """
    idx = [i for i, t in enumerate(texts) if MENTION.search(t) or URL.search(t)]
    if not idx:
        return {"checked": 0, "unchanged": None}
    again = predict([swap_names_and_links(texts[i]) for i in idx])
    same = sum(pred[i] == p for i, p in zip(idx, again, strict=True))
    return {"checked": len(idx), "unchanged": same / len(idx)}
