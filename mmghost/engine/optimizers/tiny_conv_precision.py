"""CPU autocast with full precision where oneDNN's reduced-precision kernels are wrong: convs on tiny maps.

With a native bf16 ISA (``avx512_bf16``/AMX), oneDNN computes the weight gradient of a dense stride-2
convolution whose input is one pixel wide from uninitialised memory: values up to 1e35 or inf, while the
forward output and the input gradient are right. The
RetinaNet FPN's extra stride-2 convs meet such inputs whenever the stride-64 map is one pixel wide. A conv
whose input is smaller than its kernel along a side is mostly padding and costs next to nothing, so
:func:`full_precision_tiny_convs` runs every such conv in float32 under autocast.
"""
from contextlib import contextmanager
from typing import Iterator, List

import torch
import torch.nn as nn
from torch import Tensor


def is_tiny_input(conv: nn.Conv2d, x: Tensor) -> bool:
    """True when ``x`` is smaller than ``conv``'s dilated kernel along its height or width.

    Args:
        conv: The convolution.
        x: Its (N, C, H, W) or (C, H, W) input.
    """
    extents = [d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation)]
    return any(side < extent for side, extent in zip(x.shape[-2:], extents))


@contextmanager
def full_precision_tiny_convs(model: nn.Module, device_type: str = 'cpu') -> Iterator[None]:
    """Within the context, ``model``'s Conv2d layers with a tiny input (:func:`is_tiny_input`) run in float32.

    Autocast is switched off for the duration of each such conv's forward, so its backward runs in float32
    too; every other op keeps the autocast dtype.

    Args:
        model: The model whose convolutions are watched.
        device_type: The autocast device type. Defaults to ``'cpu'``.
    """
    in_full_precision: List[nn.Module] = []  # the convs whose forward is running with autocast off

    def before(conv: nn.Conv2d, args: tuple):
        if not (torch.is_autocast_enabled(device_type) and is_tiny_input(conv, args[0])):
            return None
        in_full_precision.append(conv)
        torch.set_autocast_enabled(device_type, False)
        return (args[0].float(), *args[1:])

    def after(conv: nn.Conv2d, args: tuple, output: Tensor) -> None:
        if in_full_precision and in_full_precision[-1] is conv:
            in_full_precision.pop()
            torch.set_autocast_enabled(device_type, True)

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        if in_full_precision:  # a forward raised inside a full-precision conv: autocast was on before it
            torch.set_autocast_enabled(device_type, True)
