"""A test-only hook that halts training at a chosen point so that a test can kill it there.

A training subprocess imports this module through its config (``custom_imports``). When the run reaches
the chosen point, the hook writes ``marker`` and then blocks, so the parent test kills the process at a
moment fixed by training progress, never by wall-clock time or the machine's speed.
"""
import time
from pathlib import Path

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

KILL_POINTS = ('after_train_iter', 'before_save_checkpoint', 'before_val_iter')


@HOOKS.register_module()
class HaltAtKillPointHook(Hook):
    """Write ``marker``, then halt forever, at the first ``point`` reached once ``runner.iter >= iteration``.

    Args:
        point: One of :data:`KILL_POINTS`: after a training iteration, in ``save_checkpoint`` before the
            file is written, or before a validation iteration.
        iteration: The runner's iteration count (training iterations completed before the current one).
        marker: The file that tells the test the process has halted.
    """

    priority = 'VERY_LOW'

    def __init__(self, point: str, iteration: int, marker: str) -> None:
        if point not in KILL_POINTS:
            raise ValueError(f'point must be one of {KILL_POINTS}, got {point!r}')
        self.point, self.iteration, self.marker = point, iteration, Path(marker)

    def _halt_if(self, point: str, runner) -> None:
        if point == self.point and runner.iter >= self.iteration:
            self.marker.write_text(f'{point} at iteration {runner.iter}')
            while True:  # the test sends SIGKILL
                time.sleep(1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._halt_if('after_train_iter', runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._halt_if('before_save_checkpoint', runner)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._halt_if('before_val_iter', runner)
