"""The metric math of the project, in one place: the report, the W&B summary and the kit's bench all use these.

Labels are ids `0..k-1` into a `labels` list. During training torchmetrics computes the same accuracy and macro-F1
on each batch (models.py); everything computed after training comes from here.
"""

from collections import Counter


def confusion_matrix(gold: list[int], pred: list[int], k: int) -> list[list[int]]:
    """`k` x `k` counts, rows gold, columns predicted."""
    matrix = [[0] * k for _ in range(k)]
    for g, p in zip(gold, pred, strict=True):
        matrix[g][p] += 1
    return matrix


def per_class(matrix: list[list[int]], labels: list[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support of each class from a confusion matrix, in `labels` order."""
    out = {}
    for i, label in enumerate(labels):
        tp, support = matrix[i][i], sum(matrix[i])
        predicted = sum(row[i] for row in matrix)
        precision, recall = tp / predicted if predicted else 0.0, tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return out


def classification_metrics(gold: list[int], pred: list[int], labels: list[str]) -> dict:
    """Accuracy, macro/weighted F1, per-class precision/recall/F1/support and the confusion matrix.

    Macro-F1 averages over the classes that occur in `gold` or `pred`, like torchmetrics does during training, so
    the report reproduces the test metrics of the run (on a full test set every class occurs: the usual macro-F1).
    """
    k = len(labels)
    matrix = confusion_matrix(gold, pred, k)
    classes = per_class(matrix, labels)
    present = [c["f1"] for i, c in enumerate(classes.values()) if c["support"] or any(row[i] for row in matrix)]
    n = len(gold)
    return {
        "accuracy": sum(matrix[i][i] for i in range(k)) / n if n else 0.0,
        "macro_f1": sum(present) / len(present) if present else 0.0,
        "weighted_f1": sum(c["f1"] * c["support"] for c in classes.values()) / n if n else 0.0,
        "per_class": classes,
        "matrix": matrix,
    }


def majority_label(train: list[int]) -> int:
    """The most frequent training label (the first seen on a tie): what the majority baseline always predicts."""
    return Counter(train).most_common(1)[0][0]


def majority_baseline(train: list[int], test: list[int], labels: list[str]) -> dict:
    """Always predict the most frequent training label: the floor any model must clear."""
    top = majority_label(train)
    scores = classification_metrics(test, [top] * len(test), labels)
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}


# --- uncertainty and significance (scipy.stats does the resampling and the exact test) -----------------------------

LEVEL, RESAMPLES, SEED = 0.95, 1000, 0
METRICS = ("accuracy", "macro_f1")


def scorer(metric: str, k: int):
    """`metric` as a function of (gold ids, predicted ids) arrays, fast enough for a thousand resamples."""
    import numpy as np

    def score(gold, pred) -> float:
        if metric == "accuracy":
            return float(np.mean(gold == pred))
        matrix = np.bincount(gold * k + pred, minlength=k * k).reshape(k, k)
        tp, support, predicted = np.diag(matrix), matrix.sum(1), matrix.sum(0)
        present = (support + predicted) > 0
        f1 = np.divide(2 * tp, support + predicted, out=np.zeros(k), where=present)
        return float(f1[present].mean()) if present.any() else 0.0

    return score


def bootstrap_interval(data: tuple, statistic, seed: int) -> dict:
    """A seeded percentile bootstrap of `statistic` over the test examples (resampled together: `paired`)."""
    import numpy as np
    from scipy.stats import bootstrap

    if len(data[0]) < 2:
        value = statistic(*data)
        return {"low": value, "high": value}
    result = bootstrap(
        data,
        statistic,
        paired=True,
        vectorized=False,
        n_resamples=RESAMPLES,
        confidence_level=LEVEL,
        method="percentile",  # BCa fails when every resample agrees (a perfect score on a small test set)
        rng=np.random.default_rng(seed),
    )
    return {"low": float(result.confidence_interval.low), "high": float(result.confidence_interval.high)}


def confidence_intervals(gold: list[int], pred: list[int], k: int, seed: int = SEED) -> dict:
    """95% bootstrap intervals of accuracy and macro-F1 over the test examples: `{metric: {"low", "high"}}`."""
    import numpy as np

    data = (np.asarray(gold), np.asarray(pred))
    return {metric: bootstrap_interval(data, scorer(metric, k), seed) for metric in METRICS}


def compare(gold: list[int], pred: list[int], baseline: list[int], k: int, seed: int = SEED) -> dict:
    """This model against a baseline on the same test examples: the difference of each metric with its paired
    bootstrap interval, and the exact McNemar test of the two accuracies (a binomial test on the disagreements)."""
    import numpy as np
    from scipy.stats import binomtest

    data = (np.asarray(gold), np.asarray(pred), np.asarray(baseline))
    out = {}
    for metric in METRICS:
        score = scorer(metric, k)

        def difference(g, a, b, score=score) -> float:
            return score(g, a) - score(g, b)

        out[metric] = {"difference": difference(*data), **bootstrap_interval(data, difference, seed)}
    ours = data[1] == data[0]
    theirs = data[2] == data[0]
    only_ours, only_theirs = int(np.sum(ours & ~theirs)), int(np.sum(~ours & theirs))
    p = binomtest(only_ours, only_ours + only_theirs, 0.5).pvalue if only_ours + only_theirs else 1.0
    out["mcnemar"] = {"only_model_right": only_ours, "only_baseline_right": only_theirs, "p_value": float(p)}
    return out


def calibration(confidence: list[float], correct: list[bool], bins: int = 15) -> dict:
    """Expected calibration error over `bins` equal-width confidence bins, and each bin's mean confidence and
    accuracy (the reliability diagram)."""
    n, table = len(confidence), []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidence) if low < c <= high or (b == 0 and c == 0)]
        if idx:
            mean_conf = sum(confidence[i] for i in idx) / len(idx)
            table.append({"low": low, "high": high, "count": len(idx), "confidence": mean_conf,
                          "accuracy": sum(correct[i] for i in idx) / len(idx)})  # fmt: skip
    ece = sum(row["count"] / n * abs(row["accuracy"] - row["confidence"]) for row in table) if n else 0.0
    return {"ece": ece, "bins": table}


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value)."""
    import statistics

    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
