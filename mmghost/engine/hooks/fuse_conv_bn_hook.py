"""Testing in deploy mode: BatchNorm folded into the convolutions."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..scope import HOOKS


@HOOKS.register_module()
class FuseConvBNHook(Hook):
    """Test in deploy mode: fold BatchNorm into the convs once the checkpoint is loaded.

    Uses :func:`mmghost.deploy.fuse.fuse_model`, which needs no export runtime (onnx is not imported).
    """

    def before_test(self, runner) -> None:
        from mmghost.deploy.fuse import fuse_model
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        fuse_model(model.eval())
        runner.logger.info('FuseConvBNHook: BatchNorm folded into the preceding convolutions')
