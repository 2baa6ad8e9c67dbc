"""Test-only hooks for the multi-process tests; their configs import this module through custom_imports."""
import hashlib
import math
import os.path as osp
from typing import Dict

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmghost.engine.hooks.resumable_randomness_hook import get_rng_states


def rng_digest(states: Dict) -> str:
    """SHA-256 of the Python, numpy and torch CPU states of :func:`get_rng_states`'s form."""
    digest = hashlib.sha256(repr(states['python']).encode())
    kind, keys, pos, has_gauss, cached = states['numpy']
    digest.update(repr((kind, pos, has_gauss, cached)).encode())
    digest.update(np.asarray(keys).tobytes())
    digest.update(states['torch'].numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class PoisonRankHook(Hook):
    """Fill one parameter of rank ``rank`` with NaN just before iteration ``iteration`` (1-based).

    That rank's loss is NaN at that iteration; the other ranks' losses are still finite there (their
    parameters turn NaN only through that iteration's gradient all-reduce).
    """

    priority = 'VERY_HIGH'

    def __init__(self, rank: int, iteration: int) -> None:
        self.rank, self.iteration = rank, iteration

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if get_rank() == self.rank and runner.iter + 1 == self.iteration:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            with torch.no_grad():
                next(p for p in model.parameters() if p.requires_grad).fill_(math.nan)


@HOOKS.register_module()
class RandomStateProbeHook(Hook):
    """At the start of every training epoch, after the states are restored, write this rank's
    :func:`rng_digest` to ``WORK_DIR/rng_rank{rank}_epoch{epoch}.txt`` (epoch 1-based)."""

    priority = 'LOWEST'

    def before_train_epoch(self, runner) -> None:
        path = osp.join(runner.work_dir, f'rng_rank{get_rank()}_epoch{runner.epoch + 1}.txt')
        with open(path, 'w') as f:
            f.write(rng_digest(get_rng_states()))
