"""Tweet normalisation shared by training, evaluation and prediction, so the model always sees the same form."""

import re

_URL = re.compile(r"(?:https?://|www\.)\S+")
# A whole mention, not inside an e-mail address; the whole of an over-long name, so normalising twice is a no-op.
_USER = re.compile(r"(?<!\w)@\w+")
_SPACE = re.compile(r"\s+")


def normalize_tweet(text: str) -> str:
    """Replace user mentions by `@user` and links by `http` (as TweetEval does), and collapse whitespace."""
    text = _URL.sub("http", text)
    text = _USER.sub("@user", text)
    return _SPACE.sub(" ", text).strip()


def prepare(texts: list[str], normalize: bool) -> list[str]:
    """Texts as the model sees them: the one decision, used by the data module and by inference alike.

    Normalising twice changes nothing (`normalize_tweet` is idempotent), so already prepared texts can pass again.
    """
    return [normalize_tweet(t) for t in texts] if normalize else list(texts)
