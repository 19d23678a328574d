import csv
import json
import subprocess
import sys

import pytest
import torch
from dl_portfolio.runner import train

from .conftest import LABELS

PKG = "tweet_topic_classifier"


def args(tmp_path, data_dir, *extra, run="r1"):
    return [
        "--data.labels", json.dumps(LABELS), "--data.source", "local", "--data.path", str(data_dir),
        "--data.batch_size", "8",
        "--model.encoder", "bow", "--model.num_buckets", "4096", "--model.embed_dim", "16", "--model.optimizer", "sgd",
        "--model.lr", "0.5", "--model.weight_decay", "0",
        "--trainer.max_epochs", "2", "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--runs_dir", str(tmp_path / "runs"), "--run_name", run, *extra,
    ]  # fmt: skip


def test_fast_dev_run_fits_and_tests(tmp_path, data_dir):
    test = train(args(tmp_path, data_dir, "--trainer.fast_dev_run", "true"))
    assert test["checkpoint"] is None and 0.0 <= test["test/acc"] <= 1.0


def test_train_writes_run_folder_with_best_and_last(tmp_path, data_dir):
    test = train(args(tmp_path, data_dir))
    run = tmp_path / "runs" / "r1"
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    assert json.loads((run / "test_metrics.json").read_text()) == test
    assert test["global_step"] == 12  # 48 train examples / batch 8 = 6 steps per epoch, 2 epochs
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["finished"] and manifest["versions"]["torch"] == torch.__version__
    with open(run / "logs" / "attempt_0" / "metrics.csv") as f:
        epochs = [r for r in csv.DictReader(f) if r["val/f1_macro"]]
    assert [int(r["epoch"]) for r in epochs] == [0, 1]
    assert (tmp_path / "runs" / "latest").resolve() == run.resolve()
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False)
    assert best["callbacks"]  # the checkpoint callback state travels with it, so resume keeps the best score
    assert "seed_everything: 0" in (run / "config.yaml").read_text()


def test_seed_zero_reproduces_metrics(tmp_path, data_dir):
    runs = [train(args(tmp_path, data_dir, run=name)) for name in ("a", "b")]
    timing = {"checkpoint", "train_samples_per_second"}  # paths and speed differ; every metric must not
    first, second = ({k: v for k, v in r.items() if k not in timing} for r in runs)
    assert first == second and "test/f1_macro" in first
    logs = [(tmp_path / "runs" / r / "logs" / "attempt_0" / "metrics.csv").read_text() for r in ("a", "b")]
    assert logs[0] == logs[1]


def test_resume_continues_global_step_and_epoch(tmp_path, data_dir):
    train(args(tmp_path, data_dir))
    resumed = train(args(tmp_path, data_dir, "--trainer.max_epochs", "4", "--resume", "last"))
    assert resumed["global_step"] == 24 and resumed["epochs"] == 4
    with open(tmp_path / "runs" / "r1" / "logs" / "attempt_1" / "metrics.csv") as f:
        epochs = sorted({int(r["epoch"]) for r in csv.DictReader(f) if r["val/f1_macro"]})
    assert epochs == [2, 3]


def test_transformer_trains_from_a_local_folder(tmp_path, data_dir, tiny_bert):
    extra = ["--model.encoder", "transformer", "--model.backbone", tiny_bert, "--model.optimizer", "adamw"]
    extra += ["--model.lr", "1e-3"]
    test = train(args(tmp_path, data_dir, *extra, "--trainer.max_epochs", "1"))
    assert test["global_step"] == 6 and test["checkpoint"].endswith("best.ckpt")


def cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", PKG, *argv], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--trainer.accelerator", "gpu"], "error: the trainer asks for a GPU (accelerator=gpu) but torch sees none"),
        (["--data.path", "/nonexistent/folder"], "error: data.path /nonexistent/folder does not exist"),
        (["--resume", "nope"], "error: cannot resume 'nope'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, data_dir, extra, message):
    out = cli("train", *args(tmp_path, data_dir, *extra))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(message)


def test_ddp_on_cpu_matches_a_single_process_evaluation(tmp_path, data_dir):
    ddp = ["--trainer.strategy", "ddp", "--trainer.devices", "2", "--data.eval_batch_size", "4"]
    out = cli("train", *args(tmp_path, data_dir, *ddp, run="ddp"))
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "runs" / "ddp"
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    assert [p.name for p in (run / "logs").iterdir()] == ["attempt_0"]
    assert "x 2 process(es)" in out.stderr  # the preflight line
    ddp_test = json.loads((run / "test_metrics.json").read_text())
    assert ddp_test["global_step"] == 6  # 48 examples / (8 per process x 2 processes) x 2 epochs

    from lightning import Trainer
    from tweet_topic_classifier.data import TextDataModule
    from tweet_topic_classifier.models import TextClassifier

    model = TextClassifier.load_from_checkpoint(run / "checkpoints" / "best.ckpt")
    dm = TextDataModule(labels=LABELS, source="local", path=str(data_dir), eval_batch_size=5)
    dm.featurizer = model.featurizer
    single = Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False).test(model, dm)[0]
    assert single["test/acc"] == ddp_test["test/acc"] and single["test/f1_macro"] == ddp_test["test/f1_macro"]
