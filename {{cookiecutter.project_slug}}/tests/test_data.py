import json
import logging

import pytest
import torch
from dl_portfolio.errors import UserError

from {{ cookiecutter.package_name }}.data import TextDataModule
from {{ cookiecutter.package_name }}.encoders import HashedNgrams, TokenizerFeaturizer

from .conftest import LABELS, make_rows, write_csv


def module(path, **kwargs):
    dm = TextDataModule(labels=LABELS, source="local", path=str(path), batch_size=4, **kwargs)
    dm.featurizer = HashedNgrams(num_buckets=1024, word_ngrams=2, char_ngrams=0)
    return dm


def test_batches_have_shapes_and_label_ids(data_dir):
    dm = module(data_dir)
    dm.setup("fit")
    assert {s: len(x) for s, x in dm.splits.items()} == {"train": 48, "validation": 18, "test": 18}
    batch = next(iter(dm.train_dataloader()))
    assert batch["ids"].shape[0] == 4 and batch["ids"].dtype == torch.long
    assert batch["labels"].shape == (4,)
    # Label ids follow the order of data.labels, not the order of appearance.
    text, label_id = dm.splits["test"][0]
    with open(data_dir / "test.csv") as f:
        first = f.readlines()[1].rstrip("\n").rsplit(",", 1)
    assert (text, LABELS[label_id]) == (first[0], first[1])


def test_sample_data_loads_with_six_topics():
    dm = TextDataModule(
        labels=["arts_&_culture", "business_&_entrepreneurs", "pop_culture", "daily_life", "sports_&_gaming",
                "science_&_technology"],
        source="sample",
    )  # fmt: skip
    dm.setup()
    sizes = {s: len(x) for s, x in dm.splits.items()}
    assert sum(sizes.values()) >= 600 and min(sizes.values()) > 0
    assert len({y for _, y in dm.splits["train"]}) == 6
    assert "sample" in dm.name


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_every_file_format_reads_the_same(tmp_path, data_dir, fmt):
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / fmt
    out.mkdir()
    for split in ("train", "validation", "test"):
        with open(data_dir / f"{split}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        if fmt == "csv":
            write_csv(out / f"{split}.csv", rows)
        elif fmt == "jsonl":
            (out / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            pq.write_table(pa.Table.from_pylist(rows), out / f"{split}.parquet")
    a, b = module(data_dir), module(out)
    a.setup(), b.setup()
    assert a.splits == b.splits


def test_single_file_is_split_stratified_and_seeded(tmp_path):
    write_csv(tmp_path / "all.csv", make_rows(20, seed=3))
    a, b = module(tmp_path / "all.csv"), module(tmp_path / "all.csv")
    a.setup(), b.setup()
    assert a.splits == b.splits
    assert {s: len(x) for s, x in a.splits.items()} == {"train": 48, "validation": 6, "test": 6}
    assert sorted(y for _, y in a.splits["test"]) == [0, 0, 1, 1, 2, 2]


def test_hub_source_reads_a_saved_dataset_offline(tmp_path):
    import datasets

    names = datasets.ClassLabel(names=LABELS)
    features = datasets.Features({"text": datasets.Value("string"), "label": names})
    splits = {}
    for seed, split in enumerate(["train_2020", "validation_2020", "test_2021"]):
        rows = make_rows(4, seed)
        splits[split] = datasets.Dataset.from_dict(
            {"text": [r["text"] for r in rows], "label": [LABELS.index(r["label"]) for r in rows]}, features=features
        )
    datasets.DatasetDict(splits).save_to_disk(tmp_path / "hub")
    mapping = {"train": "train_2020", "validation": "validation_2020", "test": "test_2021"}
    dm = TextDataModule(labels=LABELS, source="hub", hub_id=str(tmp_path / "hub"), splits=mapping)
    dm.setup()
    assert {s: len(x) for s, x in dm.splits.items()} == {"train": 12, "validation": 12, "test": 12}
    assert dm.splits["train"][0][0] == splits["train_2020"][0]["text"]


def bad(data_dir, split, rows):
    write_csv(data_dir / f"{split}.csv", rows)
    with pytest.raises(UserError) as err:
        module(data_dir).setup()
    return str(err.value)


def test_missing_folder_file_and_column_are_clear(tmp_path, data_dir):
    with pytest.raises(UserError, match="does not exist"):
        module(tmp_path / "nope").setup()
    (data_dir / "validation.csv").unlink()
    with pytest.raises(UserError, match="no validation file"):
        module(data_dir).setup()
    (data_dir / "validation.csv").write_text("tweet,label\nhello,cats\n")
    with pytest.raises(UserError, match="set data.text_column"):
        module(data_dir).setup()


def test_empty_split_unknown_label_and_unseen_label_are_refused(data_dir):
    assert "test split is empty" in bad(data_dir, "test", [{"text": " ", "label": "cats"}])
    write_csv(data_dir / "test.csv", make_rows(2, 9))
    assert "'birds'" in bad(data_dir, "validation", [{"text": "tweet tweet", "label": "birds"}])
    write_csv(data_dir / "validation.csv", make_rows(2, 8))
    no_fish = [r for r in make_rows(6, 1) if r["label"] != "fish"]
    assert "labels ['fish'] occur in validation/test but never in train" in bad(data_dir, "train", no_fish)
    assert "train has a single class ['cats']" in bad(data_dir, "train", [r for r in no_fish if r["label"] == "cats"])


def test_empty_texts_dropped_and_leakage_dropped_on_request(data_dir):
    rows = make_rows(16, 0)
    test_rows = make_rows(6, 2)
    write_csv(data_dir / "train.csv", rows + [{"text": "", "label": "cats"}] + test_rows[:2])
    dm = module(data_dir)
    dm.setup()
    assert len(dm.splits["train"]) == 50  # the empty text is gone, the 2 leaked texts stay (with a warning)
    dm = module(data_dir, drop_leaked=True)
    dm.setup()
    assert len(dm.splits["train"]) == 48


def test_texts_past_max_length_are_counted_once_per_split(data_dir, tiny_bert, caplog):
    from transformers import AutoTokenizer

    long = [{"text": " ".join(["meow", "purr"] * 10 + [f"long{i}"]), "label": "cats"} for i in range(3)]
    write_csv(data_dir / "train.csv", make_rows(16, 0) + long)  # 7 words (9 tokens) each, and 3 of 23 tokens
    dm = TextDataModule(labels=LABELS, source="local", path=str(data_dir), batch_size=4)
    dm.featurizer = TokenizerFeaturizer(AutoTokenizer.from_pretrained(tiny_bert), max_length=16)
    with caplog.at_level(logging.INFO, logger="lightning.pytorch.utilities.rank_zero"):
        dm.setup()
    cut = [r.getMessage() for r in caplog.records if "model.max_length" in r.getMessage()]
    assert cut == [
        "data: train: 3 of 51 texts are longer than model.max_length 16 tokens: the model reads their first 16 "
        "(raise model.max_length to read more)"
    ]
