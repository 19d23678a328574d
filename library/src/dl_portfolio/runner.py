"""`train`: fit, then test the best checkpoint, all in one run folder `runs/<run>/`.

runs/<run>/config.yaml        resolved config (no secrets: those only live in the environment)
runs/<run>/manifest.json      seed, versions, git sha, hardware, command, start/end time, data fingerprints,
                              `warnings` (what the data cannot support, data.check_splits)
runs/<run>/checkpoints/       best.ckpt (best validation macro-F1) and last.ckpt (every epoch, for resuming)
runs/<run>/logs/attempt_N/    CSV metrics per epoch, one folder per (re)start
runs/<run>/test_metrics.json  test metrics of best.ckpt

The folder is claimed (made and locked) once the config and data are checked, and given back in one line when the
training fails: run_folder.py says how.
"""

import os
from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger

from . import checks, fingerprint, hardware, manifest, runs, tracking
from .callbacks import ThroughputMeter
from .errors import UserError
from .files import point_link, write_json, write_text
from .layout import Layout
from .project import current
from .run_folder import RUN_ENV, AsideCheckpointIO, RunFolder


def find_resume(runs_dir: Path, resume: str) -> tuple[str, Path]:
    """`last` -> newest run with a last.ckpt; a run name -> its last.ckpt. Returns (run name, checkpoint)."""
    if resume == "last":
        runs = sorted(runs_dir.glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
        if not runs:
            raise UserError(f"RESUME=last but no run in {runs_dir} has a last.ckpt: train without RESUME first.")
        return runs[-1].parent.parent.name, runs[-1]
    ckpt = runs_dir / resume / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise UserError(f"cannot resume {resume!r}: {ckpt} does not exist. Use RESUME=last or an existing run name.")
    return resume, ckpt


class PortfolioCLI(LightningCLI):
    """LightningCLI plus a run folder, loggers, checkpoints and the resume/run-name/tracking options."""

    def __init__(self, *args, run_folder: RunFolder, **kwargs) -> None:
        self.run_folder = run_folder
        self.checkpoints = run_folder.checkpoints  # False for a sweep's trials: the final training retrains the best
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_name", type=str | None, default=None, help="Run folder name (default: time).")
        parser.add_argument("--runs_dir", type=str, default="runs", help="Where run folders go.")
        parser.add_argument("--resume", type=str | None, default=None, help="'last' or a run name to continue.")
        parser.add_argument("--group", type=str | None, default=None, help="Run group (several seeds of one config).")
        parser.add_argument(
            "--effective_batch_size",
            type=int | None,
            default=None,
            help="Accumulate gradients to reach this many examples per optimizer step, whatever the device count.",
        )
        parser.add_class_arguments(tracking.Tracking, "tracking")
        parser.link_arguments("data.labels", "model.labels")
        parser.link_arguments("data.normalize", "model.normalize")  # the checkpoint knows how its texts were prepared
        parser.link_arguments("model.featurizer", "data.featurizer", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        checks.run_config(self.config)  # every value first: a mistake changes nothing
        runs_dir = Path(self.config.runs_dir)
        self.resume_ckpt = None
        if self.config.resume:
            self.config.run_name, self.resume_ckpt = find_resume(runs_dir, self.config.resume)
        # Ranks started by Lightning's DDP launcher inherit the name rank 0 chose; torchrun/SLURM users pass --run_name.
        inherited = os.environ.get(RUN_ENV) if "LOCAL_RANK" in os.environ else None
        self.config.run_name = self.config.run_name or inherited  # None: the time, when the folder is claimed
        hardware.check_and_adapt(self.config)

    def instantiate_trainer(self, **kwargs):
        self.datamodule.setup()  # read and check the data before the run folder is made
        self.run_dir = self.run_folder.claim(Path(self.config.runs_dir), self.config.run_name)
        self.config.run_name = self.run_dir.name
        attempt = len(list((self.run_dir / "logs").glob("attempt_*")))
        csv = CSVLogger(self.run_dir, name="logs", version=f"attempt_{attempt}")
        loggers = [csv, *tracking.loggers(self.config.tracking, self.run_dir, self.config.run_name)]
        saving = []
        if self.checkpoints:
            # Two callbacks: ModelCheckpoint's save_last only refreshes when a new best is saved, and a resume needs
            # the state of every epoch. Both save after validation, with the epoch complete.
            # enable_version_counter=False: overwrite best.ckpt / last.ckpt rather than write best-v1.ckpt.
            folder = self.run_dir / "checkpoints"
            same = dict(dirpath=folder, save_on_train_epoch_end=True, enable_version_counter=False)
            saving = [ModelCheckpoint(filename="best", monitor="val/f1_macro", mode="max", **same)]
            saving.append(ModelCheckpoint(filename="last", save_top_k=1, **same))
        else:
            kwargs["enable_checkpointing"] = False  # a bag of n-grams is ~100 MB: saving it twice an epoch is slow
        self.meter = ThroughputMeter()
        given = self._get(self.config_init, "trainer")
        callbacks = [*(given.get("callbacks") or []), *saving, self.meter]
        plugins = given.get("plugins") or []
        plugins = [*(plugins if isinstance(plugins, list) else [plugins]), AsideCheckpointIO()]  # run_folder.py
        return super().instantiate_trainer(logger=loggers, callbacks=callbacks, plugins=plugins, **kwargs)


def _best_score(trainer, run_dir: Path) -> float | None:
    """The validation macro-F1 of the kept checkpoint (it picks the headline run of a group of seeds); without
    checkpoints (a sweep's trial), the best epoch's in the run's logs."""
    if trainer.checkpoint_callback:
        score = trainer.checkpoint_callback.best_model_score
        return None if score is None else float(score)
    scores = [h["val/f1_macro"] for h in runs.epoch_history(run_dir) if "val/f1_macro" in h]
    return max(scores) if scores else None


def train(args: list[str], callbacks: list | None = None, checkpoints: bool = True) -> dict:
    """Parse `args` like LightningCLI, fit (resuming when asked), test the best checkpoint, write the run files.

    `callbacks` join the trainer's (a sweep's pruning callback); `checkpoints=False` saves no weights (its trials).
    With data.read_test=false (a sweep's trials) there is no test phase: val_metrics.json holds the same run summary
    without test metrics. A failure gives the run folder back (run_folder.py): removed when nothing in it can be used,
    and one line when the cause is the user's to fix (a full disk, the folder deleted).
    """
    run_folder = RunFolder(checkpoints)
    try:
        return fit_and_test(args, callbacks, run_folder)
    except BaseException as err:
        problem = run_folder.abandon(err)
        if problem is not None:
            raise problem from None
        raise
    finally:
        run_folder.release()


def fit_and_test(args: list[str], callbacks: list | None, run_folder: RunFolder) -> dict:
    """`train`, in the run folder `run_folder` claims once the config and data are checked."""
    project = current()
    cli = PortfolioCLI(
        project.model_class,
        project.data_class,
        run=False,
        args=args,
        run_folder=run_folder,
        save_config_callback=None,
        auto_configure_optimizers=False,
        seed_everything_default=0,
        parser_kwargs={"prog": f"{project.package} train", "exit_on_error": False},  # cli.py: one line, not the usage
        trainer_defaults={"callbacks": list(callbacks or [])},
    )
    trainer, run_dir = cli.trainer, cli.run_dir
    hardware.preflight(trainer, cli.datamodule)
    info = manifest.build(cli.config.seed_everything, cli.config.run_name, fingerprint.of_datamodule(cli.datamodule))
    info["group"] = cli.config.group
    if trainer.is_global_zero:
        write_text(run_dir / "config.yaml", cli.parser.dump(cli.config, skip_none=False))
    trainer.fit(cli.model, cli.datamodule, ckpt_path=cli.resume_ckpt)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    tested = cli.datamodule.hparams.read_test  # false in a sweep's trials: they never see the test split
    results = trainer.test(cli.model, cli.datamodule, ckpt_path=best or None, verbose=False)[0] if tested else {}
    test = {
        "checkpoint": best or None,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "train_samples_per_second": round(cli.meter.samples_per_second, 2),
        "best_val_f1_macro": _best_score(trainer, run_dir),
        **results,
    }
    if trainer.is_global_zero:
        write_json(run_dir / ("test_metrics.json" if tested else "val_metrics.json"), test)
        write_json(run_dir / "manifest.json", {**info, "warnings": cli.datamodule.warnings, "finished": manifest.now()})
        if best:  # `latest` names a run that report and predict can use: one with a checkpoint
            point_link(Layout(runs_dir=run_dir.parent).latest_run, run_dir)
        phase = "test" if tested else "validation"
        none = "(none: fast_dev_run)" if cli.checkpoints else "(none: a sweep trial saves no weights)"
        print(f"run folder: {run_dir}\ncheckpoint: {best or none}\n{phase} metrics: {test}")
    if tested:  # without a test phase there are no test tables to send: the sweep closes its W&B runs itself
        tracking.finish(trainer, cli.model, cli.config.tracking, cli.config.as_dict(), info)
    return test
