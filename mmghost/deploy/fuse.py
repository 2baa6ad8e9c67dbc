"""Deploy mode: BatchNorm folded into the preceding convolutions, for inference."""
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn


def fuse_model(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into the conv before it and drop the empty shortcut placeholders, in place.

    For GhostNetV2 this folds the stem, each Ghost module's ``primary_conv`` and ``cheap_operation``, the
    three convs of each DFC ``short_conv``, ``conv_dw`` and both convs of each projection shortcut; works on
    a backbone or a whole detector/segmentor (mmcv's ``fuse_conv_bn`` does the folding, in module order).
    Outputs equal the eval-mode model's up to float rounding. Calling it again changes nothing.

    Args:
        model: The model, in eval mode (folding uses the running statistics).

    Returns:
        The same model object, changed.
    """
    if model.training:
        raise ValueError('fuse_model folds running BatchNorm statistics: call model.eval() first')
    fuse_conv_bn(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Sequential) and len(child) == 0:
                setattr(module, name, nn.Identity())
    return model
