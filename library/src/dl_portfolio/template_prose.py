"""The fingerprints (prose.fingerprint) of the prose paragraphs of the template's docs/index.md, over every
dataset and model answer: a paragraph of a project's write-up found here is still the template's, word for
word. Written by the kit (`.venv/bin/python -m tests.test_template_prose`), whose
tests/test_template_prose.py checks it against the template."""

PARAGRAPHS = frozenset(
    {
        "5c5c630b0ca7e9d0",  # A strong, cheap baseline is the honest yardstick for a deep learning model.
        "118b2d1cf8afb8b0",  # Check how the model holds up on newer tweets than it was trained on.
        "b365288adb3b5f9d",  # I collected English tweets with the X API v2 recent search, one query of hashtag
        "18bdb0b2c5e500fd",  # I fine-tune a small pretrained sentence encoder (all-MiniLM-L6-v2, 22 million pa
        "92a6921c99eb5666",  # I start with a bag-of-n-grams model (fastText-style): hashed word unigrams and b
        "e8f022140181cce2",  # I use [TweetTopic](https://huggingface.co/datasets/cardiffnlp/tweet_topic_single
        "185b31c056656b30",  # I use my own labelled data set (in `data/local/`). Where the texts come from, ho
        "313c87ba49ad9483",  # Look through the most confident mistakes and fix the labelling problems they rev
        "71cad8bfce16e3b1",  # Macro-F1 tells a different story from accuracy when some topics are rare, so I t
        "1542937f96824807",  # Millions of tweets are posted every hour, and anyone who follows a topic (a news
        "ee0fd0c723249098",  # Recording seeds, versions and the exact config with every run made the results r
        "cdb0c149863029e2",  # This first version runs on the small sample that ships with the project template
        "ddcd70e25f288745",  # Try a larger encoder, or one pretrained on tweets, on a GPU.
    }
)
