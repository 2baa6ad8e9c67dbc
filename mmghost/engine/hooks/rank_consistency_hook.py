"""Checking that distributed training leaves every rank with the same weights."""
import hashlib

import torch
from mmengine.dist import all_gather_object, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..scope import HOOKS


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
