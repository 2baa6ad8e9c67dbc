"""Checkpoint loading by the Runner itself (``load_from``, resuming) that works on every torch and runs no
code from the file."""
from mmengine.hooks import Hook

from mmghost.utils.checkpoint import enable_safe_checkpoint_loading
from ..scope import HOOKS


@HOOKS.register_module()
class SafeCheckpointLoadingHook(Hook):
    """Before the Runner loads or resumes a checkpoint, route mmengine's loading through mmghost's.

    ``before_run`` comes before ``Runner.load_or_resume`` in ``train``, ``val`` and ``test``, so the
    ``load_from`` and resume files of mmdet's and mmseg's own tools are read by
    :func:`mmghost.utils.checkpoint.enable_safe_checkpoint_loading`'s loaders: with torch's safe unpickler and
    mmengine's allow-list on torch >= 2.6 (where mmengine 0.10.7 fails on its own checkpoints without it),
    and with mmghost's restricted unpickler on older torch (where ``torch.load`` runs any pickle). The change
    is process-wide and stays after the run, as the config that names this hook asked for it.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        enable_safe_checkpoint_loading()
