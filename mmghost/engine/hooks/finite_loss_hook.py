"""Stopping training on every rank at the first NaN or infinite loss."""
import math
from typing import Dict, List

import torch
from mmengine.dist import all_gather, all_gather_object
from mmengine.hooks import Hook

from ..scope import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training on every rank at the first iteration whose loss is NaN or infinite on any rank.

    Each iteration the ranks all-gather their loss (one number each), so all of them see a non-finite loss
    at the same iteration and raise the same ``FloatingPointError``, naming the iteration and the ranks; no
    rank is left waiting in a collective. The log entries (``loss_cls=...``) are gathered only then.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        outputs = outputs or {}
        if 'loss' not in outputs:
            return
        loss = torch.as_tensor(outputs['loss']).detach().double().sum().reshape(1)  # NaN/Inf if any element is
        losses = [float(value) for value in all_gather(loss)]
        bad_ranks = [rank for rank, value in enumerate(losses) if not math.isfinite(value)]
        if not bad_ranks:
            return
        logs: List[Dict[str, float]] = all_gather_object(
            {k: float(torch.as_tensor(v).detach()) for k, v in outputs.items() if k.startswith('loss')})
        world_size = len(losses)
        where = '' if world_size == 1 else f' on rank(s) {bad_ranks} of {world_size}'
        parts = ', '.join(f'{k}={v:.4g}' for k, v in logs[bad_ranks[0]].items())
        raise FloatingPointError(
            f'loss became {losses[bad_ranks[0]]} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
            f'batch {batch_idx + 1}){where}; {parts}. Lower the learning rate, enable gradient clipping '
            f'(optim_wrapper.clip_grad) or check the data; training stopped.')
