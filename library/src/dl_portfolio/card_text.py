"""One source for what the model cards say in words: the write-up's docs/model-card.md (pages.model_card_page) and
the Hub's README (model_card.card) take their task, intended use, scope, data note, limitations and ethics from
here, each in the length its page wants."""

from .formats import fmt_pct, label_name
from .writeup import code, noun, with_ci


def task(m: dict) -> str:
    """What the model does, with its classes: one sentence; each class by its readable name, then the id the model
    outputs (`config.json`'s id2label)."""
    labels = m["confusion_matrix"]["labels"]
    classes = ", ".join(f"{label_name(x)} ({code(x)})" for x in labels)
    return f"Reads an English tweet and predicts its {noun(m)}, one of {len(labels)}: {classes}."


INTENDED_USE = (
    "Tagging public English tweets with a topic, looked at in aggregate: topic trends, routing a feed, a first pass "
    "before a person reads them."
)
OUT_OF_SCOPE = (
    "Decisions about individual people (moderation, hiring, credit, surveillance or profiling of accounts); "
    "languages other than English; texts unlike tweets (long articles, transcripts); topics outside the list: the "
    "model always answers with one of its topics, even when none fits."
)
ETHICS = """\
- Tweets are written by real people. Even public ones can reveal who someone is; keep the data and predictions
  about individuals out of reach of people who could misuse them, and honour deletions.
- Labels reflect the annotators and the accounts that were sampled: dialects, non-US topics and minority
  communities may be misread more often. Check the errors on your own data before relying on the model.
- Do not use the model to monitor, rank or target individual people.
"""


def limitations(m: dict) -> str:
    """The limitations every card states, as Markdown bullets (the sample-data warning first when it applies)."""
    sample = (
        "- **Sample data.** The model was trained and tested on a small set of texts written for the template; the "
        "numbers show that the pipeline works, not that the model does. Train it on real data before use.\n"
        if m["dataset"]["is_sample"]
        else ""
    )
    truncation = (
        f"- Texts longer than {m['config'].get('model', {}).get('max_length')} tokens are cut; tweets rarely are.\n"
        if m["model"]["encoder"] == "transformer"
        else ""
    )
    return (
        f"{sample}- One test set: accuracy {with_ci(m, 'accuracy')} and macro-F1 {with_ci(m, 'macro_f1')} are 95% "
        "bootstrap intervals over its examples; another seed or split moves the numbers.\n"
        "- Topics overlap (a sports business story fits two labels) and a single label hides that.\n"
        "- Language changes: slang, events and hashtags of the training period age, and accuracy drops on newer "
        "tweets.\n"
        "- The class probabilities are not calibrated by design (expected calibration error "
        f"{fmt_pct((m.get('calibration') or {}).get('ece'))}): read a confidence as a ranking, not as a probability.\n"
        f"{truncation}"
    )
