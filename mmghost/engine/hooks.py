"""Training hooks."""
import hashlib
import math
from typing import Dict, List

import torch
from mmengine.dist import all_gather, all_gather_object, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from .registry import HOOKS


def parameter_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter's name and exact bytes, in registration order."""
    digest = hashlib.sha256()
    for name, param in model.named_parameters():
        digest.update(name.encode())
        digest.update(param.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class RankConsistencyHook(Hook):
    """After training, check that every rank ends with bit-identical parameters.

    Distributed data parallel keeps replicas in sync by all-reducing gradients; this hook verifies it
    (e.g. for CPU/gloo training, or after changes to the model wrapper) and raises if they drifted.
    BatchNorm statistics are buffers, not parameters: with plain BN (no SyncBN) each rank keeps its own.
    """

    priority = 'VERY_LOW'

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digests = all_gather_object(parameter_digest(model))
        if len(set(digests)) != 1:
            raise RuntimeError(f'parameters differ between ranks after training: {digests}')
        runner.logger.info(f'RankConsistencyHook: parameters are bit-identical on all {get_world_size()} '
                           f'rank(s) (sha256 {digests[0][:16]})')


@HOOKS.register_module()
class FuseConvBNHook(Hook):
    """Test in deploy mode: fold BatchNorm into the convs once the checkpoint is loaded.

    ``tools/test.py --fuse-conv-bn`` adds it. Uses :func:`mmghost.deploy.fuse_model`.
    """

    def before_test(self, runner) -> None:
        from mmghost.deploy import fuse_model
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        fuse_model(model.eval())
        runner.logger.info('FuseConvBNHook: BatchNorm folded into the preceding convolutions')


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
