"""Tweet normalisation shared by training, evaluation and prediction, so the model always sees the same form."""

import re

_URL = re.compile(r"(?:https?://|www\.)\S+")
_USER = re.compile(r"@\w{1,15}")
_SPACE = re.compile(r"\s+")


def normalize_tweet(text: str) -> str:
    """Replace user mentions by `@user` and links by `http` (as TweetEval does), and collapse whitespace."""
    text = _URL.sub("http", text)
    text = _USER.sub("@user", text)
    return _SPACE.sub(" ", text).strip()
