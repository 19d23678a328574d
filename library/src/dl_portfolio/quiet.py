"""Quiet output, in one place: library messages that tell a user nothing are filtered out, so `make train` shows
the preflight line, the data line, our warnings, a progress bar and the result, not pages.

Installed by the command line before any library is imported (Lightning's DDP ranks re-run it, so they are quiet too).
"""

import logging
import os
import re
import warnings

# Python warnings (matched at the start of the message) that a user can do nothing about, or that we already handle.
WARNINGS = (
    r"LightningCLI's args parameter is intended",  # we pass the command line on ourselves
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r"The '\w+_dataloader' does not have many workers",  # the trainer presets choose the workers
    r"Checkpoint directory .* exists and is not empty",  # a resumed run reuses its folder on purpose
    r"The `srun` command is available on your system but is not used",
    r"You are using `torch.load` with `weights_only=False`",
    r"Experiment logs directory .* exists and is not empty",
    r"Found keys that are in the model state dict but not in the checkpoint",
    r"Found keys that are not in the model state dict but in the checkpoint",
)

# Lightning's INFO lines that repeat what the preflight line says, or advertise.
LIGHTNING_LINES = re.compile(
    r"^(GPU available:|TPU available:|HPU available:|💡 Tip|Seed set to|Loading `train_dataloader` to estimate|"
    r"`Trainer.fit` stopped:|LOCAL_RANK: \d+ - CUDA_VISIBLE_DEVICES|Restoring states from the checkpoint|"
    r"Restored all states from the checkpoint|Loaded model weights from the checkpoint|Using 16bit|Using bfloat16|"
    r"Trainer already configured with)"
)

# Libraries that otherwise log each offline retry and each weight they did not use: our one error line says it.
ENVIRONMENT = {
    "TRANSFORMERS_VERBOSITY": "error",
    "DATASETS_VERBOSITY": "error",
    "HF_HUB_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' "Loading weights" bar on every model load
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # else a warning per DataLoader worker fork
    "WANDB_SILENT": "true",  # tracking.py prints the one line that matters (the offline sync command)
}


class _DropLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not LIGHTNING_LINES.match(record.getMessage())


def install() -> None:
    """Filter the noise; a variable the user set in the environment wins over ours."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for pattern in WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    # A log file that cannot be written (W&B's debug.log on a full disk) is not the error: without this, logging
    # prints "--- Logging error ---" and a traceback for each record, burying our one line.
    logging.raiseExceptions = False
    # A logger's filter sees only the records made on it: these are the loggers those lines are made on.
    for name in (
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
        "lightning.fabric.utilities.seed",
        "lightning.pytorch.accelerators.cuda",
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in logger.filters):
            logger.addFilter(_DropLines())
    for name in ("huggingface_hub", "urllib3", "filelock", "fsspec"):
        logging.getLogger(name).setLevel(logging.ERROR)
