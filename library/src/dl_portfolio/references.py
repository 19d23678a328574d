"""Published results on the same splits, shown beside a run's numbers as "published, not run here".

Keyed by `data.reference` (the TweetTopic preset sets it; for TweetEval data kept as local files set
`--data.reference tweet_eval/emotion`, etc.). Fractions as the sources print them; None where a source gives none.
"""

TWEETEVAL = "Barbieri et al. (2020), TweetEval: Unified Benchmark and Comparative Evaluation for Tweet Classification, Findings of EMNLP; TweetEval leaderboard"  # noqa: E501
TWEETEVAL_URL = "https://github.com/cardiffnlp/tweeteval"

PUBLISHED = {
    "tweet_topic_single": {
        "split": "train_2020 → test_2021",
        "citation": "Antypas et al. (2022), Twitter Topic Classification, COLING; dataset card of cardiffnlp/tweet_topic_single",  # noqa: E501
        "url": "https://huggingface.co/datasets/cardiffnlp/tweet_topic_single",
        "rows": [{"model": "roberta-base", "accuracy": 0.868, "macro_f1": 0.730}],
    },
    **{
        f"tweet_eval/{task}": {
            "split": f"TweetEval {task} test",
            "citation": TWEETEVAL,
            "url": TWEETEVAL_URL,
            "rows": [{"model": model, "accuracy": None, "macro_f1": f1} for model, f1 in rows],
        }
        for task, rows in (
            ("emotion", [("RoBERTa-Retrained", 0.785), ("RoBERTa-Base", 0.761), ("FastText", 0.652)]),
            ("offensive", [("RoBERTa-Retrained", 0.805), ("RoBERTa-Base", 0.795), ("FastText", 0.734)]),
        )
    },
}


def published(reference: str | None) -> dict | None:
    """The published results for a data set key, or None (most data has none)."""
    return PUBLISHED.get(reference) if reference else None
