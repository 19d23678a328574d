"""Training callbacks of our own: only what Lightning does not offer as is."""

import time

from lightning.pytorch.callbacks import Callback


class ThroughputMeter(Callback):
    """Training samples per second, data loading included, validation excluded: the number the bench compares."""

    def __init__(self):
        self.samples, self.seconds, self._last = 0, 0.0, None

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._last = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        self.seconds += now - self._last
        self.samples += len(batch["labels"])
        self._last = now

    @property
    def samples_per_second(self) -> float:
        """Mean training throughput so far."""
        return self.samples / self.seconds if self.seconds else 0.0
