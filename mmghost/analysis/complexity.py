"""Counting multiply-adds, in the paper's convention and in mmengine's."""
from typing import Callable, Dict

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from torch import Tensor


def conv_linear_macs(model: nn.Module, run: Callable[[], object]) -> int:
    """Multiply-adds of the Conv2d and Linear layers of ``model`` while ``run()`` executes.

    This is the convention of the GhostNet papers (167M for GhostNetV2 1.0x at 224x224): BatchNorm,
    activations, pooling, interpolation and element-wise multiplies are not counted.

    Args:
        model: The module whose Conv2d/Linear layers are counted.
        run: Runs the forward pass (e.g. ``lambda: model(images)``).

    Returns:
        The number of multiply-adds.
    """
    total = 0

    def hook(module: nn.Module, inputs: tuple, output: Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * module.kernel_size[0] \
                * module.kernel_size[1]
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return total


def _elementwise(inputs: list, outputs: list) -> int:
    """One operation per output element (sigmoid, multiply, pooling, interpolation)."""
    return sum(int(torch.Size(output.type().sizes()).numel()) for output in outputs
               if output.isCompleteTensor())


# jit ops of the DFC branch (and the Ghost module's gate) that mmengine's analyzer skips by default.
DFC_OP_HANDLES: Dict[str, Callable] = {
    op: _elementwise
    for op in ('aten::avg_pool2d', 'aten::sigmoid', 'aten::upsample_nearest2d', 'aten::upsample_bilinear2d',
               'aten::mul', 'aten::hardsigmoid')
}


def flop_analyzer(model: nn.Module, inputs: tuple, count_dfc_elementwise: bool = True) -> FlopAnalyzer:
    """mmengine's ``FlopAnalyzer`` for ``model(*inputs)``, optionally counting the DFC element-wise ops.

    mmengine counts one multiply-add as one "flop" for convs and matmuls, and also counts BatchNorm and
    adaptive pooling; with ``count_dfc_elementwise`` the DFC branch's 2x2 average pooling, sigmoid,
    up-sampling and gating multiply (and SE's hard-sigmoid and multiply) count one op per output element.
    """
    analyzer = FlopAnalyzer(model, inputs)
    if count_dfc_elementwise:
        analyzer.set_op_handle(**DFC_OP_HANDLES)
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
