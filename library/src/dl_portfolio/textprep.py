"""How a text is prepared before the model sees it, by the scheme its data preset names (`data.normalize`).

The run records the scheme (the checkpoint's `normalize`, the export's config.json), so training, the report,
predict, the export's checks, the API (no torch: this module imports only `re`) and the Try it page
(docs/javascripts/textprep.js, tested against this one in Chromium) prepare a typed text exactly alike.

- `tweeteval`: TweetEval's own convention, for its data and for raw tweets: links become `http`, user mentions
  `@user`, whitespace runs one space.
- `tweettopic`: TweetTopic's markup keeps what it marks. A verified account written `{@Chicago Blackhawks@}` becomes
  its name, `Chicago Blackhawks` (the team, brand or person is the strongest topic cue); its placeholders
  `{{USERNAME}}` and `{{URL}}` become `@user` and `http`, as TweetEval writes them; then as `tweeteval`.
- `none`: the text as it is.
"""

import re

SCHEMES = ("tweeteval", "tweettopic", "none")
URL = re.compile(r"(?:https?://|www\.)\S+")
# A whole mention, not inside an e-mail address; the whole of an over-long name, so normalising twice is a no-op.
USER = re.compile(r"(?<!\w)@\w+")
SPACE = re.compile(r"\s+")
ENTITY = re.compile(r"\{@([\s\S]+?)@\}")  # TweetTopic's verified accounts (any character, as in JavaScript)
USERNAME = re.compile(r"\{\{USERNAME\}\}")
URL_TOKEN = re.compile(r"\{\{URL\}\}")


def scheme(normalize: bool | str | None) -> str:
    """The scheme's name: runs and exports made before schemes existed recorded True (TweetEval's) or False."""
    if normalize is True or normalize is None:
        return "tweeteval"
    if normalize is False:
        return "none"
    if normalize not in SCHEMES:
        raise ValueError(f"unknown text preparation {normalize!r}: use one of {', '.join(SCHEMES)}")
    return normalize


def normalize_tweet(text: str) -> str:
    """TweetEval's convention: links -> `http`, mentions -> `@user`, whitespace collapsed."""
    text = URL.sub("http", text)
    text = USER.sub("@user", text)
    return SPACE.sub(" ", text).strip()


def normalize_tweettopic(text: str) -> str:
    """TweetTopic's markup: entity names kept, its placeholders as TweetEval writes them, then `normalize_tweet`."""
    text = ENTITY.sub(lambda m: m.group(1).strip(), text)
    text = USERNAME.sub("@user", text)
    text = URL_TOKEN.sub("http", text)
    return normalize_tweet(text)


# A tweet in TweetTopic's markup (made up) and what the `tweettopic` scheme hands the model: the tests check every
# path (training, report, predict, export, API, Try it page) against this pair, and the export's checks include it.
EXAMPLE = "{@Chicago Blackhawks@} beat {@ESPN@}'s pick  {{USERNAME}} says {{URL}} @fan99"
EXAMPLE_PREPARED = "Chicago Blackhawks beat ESPN's pick @user says http @user"

PREPARE = {"tweeteval": normalize_tweet, "tweettopic": normalize_tweettopic, "none": lambda text: text}


def prepare(texts: list[str], normalize: bool | str | None) -> list[str]:
    """Texts as the model sees them under the scheme `normalize` names. Preparing twice changes nothing."""
    step = PREPARE[scheme(normalize)]
    return [step(t) for t in texts]


def describe(normalize: bool | str | None) -> str:
    """How texts were prepared before the model saw them, and why: one sentence (the scheme of textprep)."""
    name = scheme(normalize)
    if name == "tweettopic":
        return (
            "Texts are prepared as TweetTopic writes them: a verified account's name is kept (`{@ESPN@}` becomes "
            "`ESPN`, the strongest clue to the topic), other users become `@user` and links `http`, whitespace is "
            "collapsed."
        )
    if name == "tweeteval":
        return (
            "Texts are normalised as TweetEval does before the model sees them (user mentions become `@user`, links "
            "`http`, whitespace is collapsed): who is mentioned and where a link goes say little about the class."
        )
    return "Texts are used as they are (no normalisation)."
