"""The DFC gate's nearest up-sampling in forms that a runtime runs as PyTorch does, or faster: an index
gather for LiteRT (:class:`GatheredDFCAttention`), integer scales and a strided one-hot conv for fixed-size
onnxruntime graphs (:class:`StaticDFCAttention`). Both copy values, so they are exact."""
import copy
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmghost.models.layers import DFCAttention


def nearest_indices(out_size: int, in_size: int) -> Tensor:
    """The source index of each output index in PyTorch's ``nearest`` up-sampling: ``floor(i * scale)`` with
    the float32 scale ``in_size / out_size``, as its CPU kernel computes it."""
    scale = torch.tensor(in_size, dtype=torch.float32) / out_size
    return torch.floor(torch.arange(out_size, dtype=torch.float32) * scale).long().clamp(max=in_size - 1)


class GatheredDFCAttention(nn.Module):
    """A DFC gate whose ``nearest`` up-sampling is an index gather with PyTorch's source indices.

    LiteRT's nearest resize maps pixel centres: from a 3x3 pooled gate to a 7x7 map it repeats other rows
    than PyTorch does (the gate of a 7x7 stride-32 map, at 224x224 input). A gather of PyTorch's indices
    (constants in a fixed-size file) gives PyTorch's values.

    Args:
        module: The :class:`DFCAttention` (``upsample_mode='nearest'``).
    """

    def __init__(self, module: DFCAttention) -> None:
        super().__init__()
        self.attention = copy.deepcopy(module)

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        gate = self.attention.pooled_gate(x)
        rows, cols = (nearest_indices(int(out), int(pooled)) for out, pooled in zip(size, gate.shape[-2:]))
        return gate.index_select(2, rows).index_select(3, cols)


MAX_UPSAMPLE_RATIO = 3  # a blocked up-sampling may pass through at most this many times the output rows


class UpsamplePlan(NamedTuple):
    """Nearest up-sampling along one axis as an integer ``scale`` followed by picking every ``stride``-th row
    from ``offset`` on: output row ``i`` is row ``(stride * i + offset) // scale`` of the input."""
    scale: int
    stride: int
    offset: int


def upsample_plan(out_size: int, in_size: int) -> Optional[UpsamplePlan]:
    """The cheapest :class:`UpsamplePlan` that picks the rows PyTorch's ``nearest`` picks from ``in_size`` to
    ``out_size`` (:func:`nearest_indices`), with at most :data:`MAX_UPSAMPLE_RATIO` times ``out_size`` rows
    up-sampled; None where there is none (7 from 3 has one: scale 5, stride 2; 9 from 4 has none)."""
    target, rows = nearest_indices(out_size, in_size), torch.arange(out_size)
    for scale in range(1, MAX_UPSAMPLE_RATIO * out_size // in_size + 1):
        for stride in range(1, scale + 1):
            for offset in range(scale):
                if stride * (out_size - 1) + offset >= scale * in_size:
                    break
                if torch.equal((stride * rows + offset) // scale, target):
                    return UpsamplePlan(scale, stride, offset)
    return None


class StaticDFCAttention(nn.Module):
    """A DFC gate for a fixed-size graph, up-sampled only by what onnxruntime runs in its blocked layout:
    an integer-scale ``nearest`` Resize, then, where the sizes are not a multiple of each other, a strided
    depthwise conv with a one-hot kernel that picks PyTorch's rows (:func:`upsample_plan`). Exact: both steps
    copy values. Sizes without a plan keep ``F.interpolate`` (which onnxruntime runs unblocked).

    Args:
        module: The :class:`DFCAttention` (``upsample_mode='nearest'``).
    """

    def __init__(self, module: DFCAttention) -> None:
        super().__init__()
        self.attention = copy.deepcopy(module)
        self.channels = [layer for layer in module.children() if isinstance(layer, nn.Conv2d)][-1].out_channels

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        gate = self.attention.pooled_gate(x)
        sizes = [(int(out), int(pooled)) for out, pooled in zip(size, gate.shape[-2:])]
        plans = [upsample_plan(out, pooled) for out, pooled in sizes]
        if None in plans:
            return F.interpolate(gate, size=size, mode='nearest')
        gate = F.interpolate(gate, scale_factor=tuple(float(plan.scale) for plan in plans), mode='nearest')
        # The one-hot kernel picks the rows at the plan's offset and spans those left over at the end.
        kernel = [plan.scale * pooled - plan.stride * (out - 1) for plan, (out, pooled) in zip(plans, sizes)]
        if kernel == [1, 1] and all(plan.stride == 1 for plan in plans):  # the sizes are multiples
            return gate
        weight = torch.zeros(self.channels, 1, *kernel, dtype=gate.dtype)
        weight[:, :, plans[0].offset, plans[1].offset] = 1
        return F.conv2d(gate, weight, stride=tuple(plan.stride for plan in plans), groups=self.channels)
