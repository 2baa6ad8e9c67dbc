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
    :func:`mmghost.utils.load_checkpoint_file` (:func:`mmghost.utils.enable_safe_checkpoint_loading`):
    TorchScript archives refused, pickles restricted to the checkpoint allow-list, on every torch; mmengine
    0.10.7's own loader fails on its own checkpoints on torch >= 2.6 and runs any pickle on older torch. The
    change is process-wide and stays after the run, as the config that names this hook asked for it.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        enable_safe_checkpoint_loading()
