"""Everything `report` measures on the test split beyond the scores: intervals, baselines compared on the same
examples, calibration, slices, invariance, the spread over seeds and the published reference."""

from . import baseline, metrics, references, slices
from .inference import argmax, predict_proba


def evaluate(model, dm, bow: dict | None = None, bow_model=None, reference: str | None = None) -> dict:
    """Score the model on `dm`'s test split and compare it with its baselines (the majority class; `bow_model`, the
    bag-of-n-grams run `bow` describes, when there is one and it earns the comparison: baseline.py); the
    `metrics.json` parts it makes."""
    labels, k = list(dm.labels), len(dm.labels)
    texts = [text for text, _ in dm.splits["test"]]
    gold = [label for _, label in dm.splits["test"]]
    probs = predict_proba(model, texts)
    pred = [argmax(p) for p in probs]
    train = [label for _, label in dm.splits["train"]]
    majority = metrics.majority_baseline(train, gold, labels)
    always = [metrics.majority_label(train)] * len(gold)
    significance = {"majority": metrics.compare(gold, pred, always, k)}
    if bow and not bow["why"] and bow_model is not None:
        bow_pred = [argmax(p) for p in predict_proba(bow_model, texts)]
        gain = metrics.compare(gold, bow_pred, always, k)["macro_f1"]
        bow = {**bow, "why": baseline.beats_majority(bow, gain, majority)}
        if not bow["why"]:  # only a baseline that earned it is compared with
            significance["bow"] = metrics.compare(gold, pred, bow_pred, k)

    def labels_of(batch: list[str]) -> list[int]:
        return [argmax(p) for p in predict_proba(model, batch)]

    confidence = [p[i] for p, i in zip(probs, pred, strict=True)]
    correct = [g == p for g, p in zip(gold, pred, strict=True)]
    return {
        "probs": probs,
        "pred": pred,
        "scores": metrics.classification_metrics(gold, pred, labels),
        "majority": majority,
        "bow": bow,
        "intervals": metrics.confidence_intervals(gold, pred, k),
        "significance": significance,
        "calibration": metrics.calibration(confidence, correct),
        "slices": slices.slice_accuracy(texts, gold, pred),
        "invariance": slices.invariance(texts, pred, labels_of),
        "published": references.published(reference),
    }


def seed_group(group: str | None, members: list[dict]) -> dict | None:
    """Mean and standard deviation of the test scores over the runs trained as one group of seeds, or None."""
    if not group or len(members) < 2:
        return None
    selected = max(members, key=lambda m: (m.get("best_val_f1_macro") or 0.0, -m["seed"]))
    return {
        "group": group,
        "runs": [
            {
                "run": m["run"],
                "seed": m["seed"],
                "val_macro_f1": m.get("best_val_f1_macro"),
                "accuracy": m["test/acc"],
                "macro_f1": m["test/f1_macro"],
            }
            for m in members
        ],
        "selected": selected["run"],
        "accuracy": metrics.mean_std([m["test/acc"] for m in members]),
        "macro_f1": metrics.mean_std([m["test/f1_macro"] for m in members]),
    }
