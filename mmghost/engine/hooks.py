"""Training hooks."""
import hashlib

import torch
from mmengine.dist import all_gather_object, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


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
    """Stop training with a clear message, naming the iteration, as soon as the loss is NaN or infinite."""

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        if loss is not None and not torch.isfinite(torch.as_tensor(loss)).all():
            parts = ', '.join(f'{k}={float(v):.4g}' for k, v in outputs.items() if k.startswith('loss'))
            raise FloatingPointError(
                f'loss became {float(loss)} at iteration {runner.iter + 1} (epoch {runner.epoch + 1}, batch '
                f'{batch_idx + 1}); {parts}. Lower the learning rate, enable gradient clipping '
                f'(optim_wrapper.clip_grad) or check the data; training stopped.')
