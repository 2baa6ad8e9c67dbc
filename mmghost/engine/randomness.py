"""Random-number state saved in checkpoints, so that ``--resume`` continues exactly."""
import random
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def get_rng_states() -> Dict:
    """The main process's Python, numpy and torch (CPU, and CUDA if present) random states."""
    states = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Dict) -> None:
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


@HOOKS.register_module()
class ResumableRandomnessHook(Hook):
    """Make a resumed run draw the same random numbers as an uninterrupted one.

    The random states at the moment a checkpoint is written are stored in its ``meta``. The uninterrupted
    run restores them after the validation that follows the checkpoint (validation draws random numbers
    that a resumed run never draws); a resumed run restores them before its first training epoch.
    Data-loading randomness lives in the dataloader workers: mmengine re-seeds them identically whenever
    they are created, so use ``num_workers >= 1`` with ``persistent_workers=False`` (workers re-created
    every epoch, in both runs) for epoch-based training.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.pending: Optional[Dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.pending = get_rng_states()
        checkpoint.setdefault('meta', {})['rng_states'] = self.pending

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.pending = checkpoint.get('meta', {}).get('rng_states')

    def _restore(self) -> None:
        if self.pending is not None:
            set_rng_states(self.pending)
            self.pending = None

    def after_val(self, runner) -> None:
        self._restore()

    def before_train_epoch(self, runner) -> None:
        self._restore()
