"""Text preparation belongs to the data: the preset names a scheme, the run records it, and every path hands the
model the same text. One tweet in TweetTopic's markup (textprep.EXAMPLE), one expected string, one test per path:
training, report, predict, export (the Try it page and the API have theirs in test_demo.py and test_serve.py)."""

import csv
import json

import pytest
from dl_portfolio import textprep
from dl_portfolio.cli import main as cli
from dl_portfolio.export import export
from dl_portfolio.inference import predict_proba
from dl_portfolio.report import report
from dl_portfolio.runner import train
from dl_portfolio.runs import Run
from dl_portfolio.textprep import EXAMPLE, EXAMPLE_PREPARED

from .conftest import LABELS, make_rows, new_root, train_args, write_csv


@pytest.mark.parametrize(
    ("scheme", "text", "prepared"),
    [
        ("tweeteval", "Hi  @bob_99 see https://t.co/xY1\nnow", "Hi @user see http now"),
        ("tweettopic", "Hi  @bob_99 see https://t.co/xY1\nnow", "Hi @user see http now"),
        ("tweettopic", EXAMPLE, EXAMPLE_PREPARED),
        ("tweeteval", EXAMPLE, "{@user Blackhawks@} beat {@user@}'s pick {{USERNAME}} says {{URL}} @user"),
        ("none", EXAMPLE, EXAMPLE),
        (True, "a @b", "a @user"),  # runs made before schemes recorded a bool
        (False, "a @b", "a @b"),
        ("tweettopic", "{@ Padded Name @} a@b.c {@multi\nline@}", "Padded Name a@b.c multi line"),
    ],
)
def test_each_scheme_prepares_a_tweet_and_twice_changes_nothing(scheme, text, prepared):
    assert textprep.prepare([text], scheme) == [prepared]
    assert textprep.prepare([prepared], scheme) == [prepared]


def test_an_unknown_scheme_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["train", *train_args(tmp_path, tmp_path / "data", "r", 1), "--data.normalize", "tweetz"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert "data.normalize" in err and "tweetz" in err
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory):
    """A project with a tiny bag-of-n-grams run on data written in TweetTopic's markup, reported and exported."""
    tmp = tmp_path_factory.mktemp("textprep")
    data = tmp / "data"
    data.mkdir()
    for seed, (split, n) in enumerate([("train", 16), ("validation", 6), ("test", 6)]):
        rows = make_rows(n, seed)
        rows[0]["text"] = EXAMPLE + f" {rows[0]['text']}"  # one marked-up tweet in each split
        write_csv(data / f"{split}.csv", rows)
    root = new_root(tmp / "project")
    train([*train_args(root, data, "markup", 2), "--data.normalize", "tweettopic"])
    report(root, root / "runs", "markup")
    export(root, root / "runs", "markup", latency_texts=2)
    return root, data


def test_training_sees_the_entity_names(markup_run):
    root, _ = markup_run
    run = Run.open(root / "runs", "markup")
    assert run.config["data"]["normalize"] == "tweettopic" and run.model.hparams.normalize == "tweettopic"
    texts = [t for split in ("train", "validation", "test") for t, _ in run.data.splits[split]]
    assert sum(t.startswith(EXAMPLE_PREPARED + " ") for t in texts) == 3
    assert not any("{@" in t or "{{" in t for t in texts)


def test_the_report_scores_the_prepared_text(markup_run):
    root, _ = markup_run
    with (root / "reports" / "markup" / "predictions.csv").open(newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    assert sum(t.startswith(EXAMPLE_PREPARED + " ") for t in texts) == 1


def test_predict_hands_the_model_the_prepared_text(markup_run):
    root, _ = markup_run
    model = Run.open(root / "runs", "markup").model
    seen = []
    featurize = model.featurizer

    def recording(texts):
        seen.extend(texts)
        return featurize(texts)

    model.featurizer = recording  # the real featurizer, with a record of what it was given
    predict_proba(model, [EXAMPLE])
    assert seen == [EXAMPLE_PREPARED]


def test_the_export_records_the_scheme_and_what_it_makes_of_the_example(markup_run):
    root, _ = markup_run
    folder = root / "exports" / "markup"
    assert json.loads((folder / "config.json").read_text())["dl_portfolio"]["normalize"] == "tweettopic"
    rows = json.loads((folder / "featurizer_check.json").read_text())["texts"]
    assert [r["normalized"] for r in rows if r["text"] == EXAMPLE] == [EXAMPLE_PREPARED]
    card = (folder / "README.md").read_text()
    assert "a verified account's name is kept" in card and "{@Name@} -> Name" in card


def test_the_api_prepares_the_text_as_training_did(markup_run):
    """The API (`serve`, no torch) answers for the marked-up tweet exactly what it answers for the prepared text,
    and its features are the prepared text's: the export's scheme, not the project's code, decides."""
    from dl_portfolio.exported import ExportedModel
    from dl_portfolio.serve import create_app
    from fastapi.testclient import TestClient

    root, _ = markup_run
    folder = root / "exports" / "markup"
    model = ExportedModel.load(folder)
    assert model.normalize == "tweettopic"
    raw, prepared = (model.features([t])["ids"].tolist() for t in (EXAMPLE, EXAMPLE_PREPARED))
    assert raw == prepared == model.featurizer([EXAMPLE_PREPARED])["ids"].tolist()
    with TestClient(create_app(folder)) as client:
        answers = [client.post("/predict", json={"text": t}).json() for t in (EXAMPLE, EXAMPLE_PREPARED)]
    assert answers[0] == answers[1] and len(answers[0]["predictions"][0]["probs"]) == len(LABELS)
