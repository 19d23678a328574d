"""Hardware checks before a run: a clear error for a GPU that is not there, precision and batch fitted to the
machine, and one preflight line that says what the run will use."""

import math

import torch
from lightning.pytorch.utilities import rank_zero_info

from .errors import UserError


def check_and_adapt(config) -> None:
    """Refuse impossible hardware requests; pick 16-mixed where bf16 is not supported; set gradient accumulation."""
    trainer = config.trainer
    wants_gpu = str(trainer.accelerator) in ("gpu", "cuda")
    if wants_gpu and not torch.cuda.is_available():
        raise UserError(
            f"the trainer asks for a GPU (accelerator={trainer.accelerator}) but torch sees none: use TRAINER=cpu or "
            "TRAINER=auto, or install a CUDA build of torch on a machine with an NVIDIA GPU."
        )
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls: Ampere+ speed-up, no effect on bf16 paths
        torch.backends.cudnn.allow_tf32 = True
        if str(trainer.precision).startswith("bf16") and not torch.cuda.is_bf16_supported():
            rank_zero_info("this GPU has no bf16: using 16-mixed precision instead")
            trainer.precision = "16-mixed"
    elif str(trainer.accelerator) == "auto" and str(trainer.precision).startswith("bf16"):
        trainer.precision = "32-true"  # auto fell back to the CPU, where fp32 is faster
    if config.effective_batch_size:
        devices = trainer.devices if isinstance(trainer.devices, int) and trainer.devices > 0 else device_count(trainer)
        per_step = config.data.batch_size * devices * (trainer.num_nodes or 1)
        trainer.accumulate_grad_batches = max(1, math.ceil(config.effective_batch_size / per_step))


def device_count(trainer) -> int:
    """How many devices `devices: -1` or `auto` means on this machine."""
    gpu = str(trainer.accelerator) in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    return torch.cuda.device_count() if gpu else 1


def preflight(trainer, datamodule) -> None:
    """One line: device(s) and memory, precision, effective batch size, DataLoader workers."""
    root = trainer.strategy.root_device
    if root.type == "cuda":
        props = torch.cuda.get_device_properties(root)
        device = f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    else:
        device = f"CPU ({torch.get_num_threads()} threads)"
    world = trainer.world_size
    batch = datamodule.hparams.batch_size
    effective = batch * world * trainer.accumulate_grad_batches
    rank_zero_info(
        f"preflight: {device} x {world} process(es) | precision {trainer.precision} | effective batch {effective} "
        f"({batch} x {world} x {trainer.accumulate_grad_batches} accumulation) | "
        f"dataloader workers {datamodule.hparams.num_workers}"
    )
