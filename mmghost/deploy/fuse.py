"""Deploy mode: BatchNorm folded into the preceding convolutions, for inference."""
import copy

import torch
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn


def untie_shared_convs(model: nn.Module) -> nn.Module:
    """Give each parent its own copy of a conv that several parents share, in place.

    RTMDet's head shares each conv across the pyramid levels, each level with its own BatchNorm
    (``share_conv=True``); folding every level's BatchNorm into the one shared conv would be wrong.
    """
    seen = set()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Conv2d):
                if id(child) in seen:
                    setattr(module, name, copy.deepcopy(child))
                else:
                    seen.add(id(child))
    return model


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
    untie_shared_convs(model)
    fuse_conv_bn(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Sequential) and len(child) == 0:
                setattr(module, name, nn.Identity())
    return model


def prepare_for_cpu_inference(model: nn.Module, channels_last: bool = True, compile: bool = False):
    """Deploy mode for CPU inference: fold BatchNorm, then the options that measurably help on CPU.

    Args:
        model: The model, in eval mode; changed in place.
        channels_last: Store weights channels-last and feed inputs channels-last. Defaults to True.
        compile: Wrap the result in ``torch.compile``. Defaults to False.

    Returns:
        A callable taking NCHW images (converted to channels-last when asked).
    """
    fused = fuse_model(model)
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    runner = torch.compile(fused) if compile else fused
    if not channels_last:
        return runner
    return lambda images: runner(images.contiguous(memory_format=torch.channels_last))
