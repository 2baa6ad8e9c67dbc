"""The DFC gate's nearest up-sampling in a fixed-size graph, in a form that a runtime runs as PyTorch does and
fast: integer scales and a strided one-hot conv where the sizes allow, else an index gather (LiteRT) or the
resize to a size (onnxruntime); see :class:`StaticDFCAttention`. Every form copies values: exact."""
import copy
import warnings
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmghost.models.layers import DFCAttention


def nearest_rows(out_size: int, in_size: int) -> List[int]:
    """The source index of each output index in PyTorch's ``nearest`` up-sampling: ``floor(i * scale)`` with
    the float32 scale ``in_size / out_size``, as its CPU kernel computes it. Plain Python (no tensors), so
    that it stays a constant when a model is traced or exported with fake tensors."""
    scale = np.float32(in_size) / np.float32(out_size)
    return [min(int(np.floor(np.float32(i) * scale)), in_size - 1) for i in range(out_size)]


def nearest_indices(out_size: int, in_size: int) -> Tensor:
    """:func:`nearest_rows` as a tensor."""
    return torch.tensor(nearest_rows(out_size, in_size))


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
    target = nearest_rows(out_size, in_size)
    for scale in range(1, MAX_UPSAMPLE_RATIO * out_size // in_size + 1):
        for stride in range(1, scale + 1):
            for offset in range(scale):
                if stride * (out_size - 1) + offset >= scale * in_size:
                    break
                if [(stride * row + offset) // scale for row in range(out_size)] == target:
                    return UpsamplePlan(scale, stride, offset)
    return None


FALLBACKS = ('resize', 'gather')


class StaticDFCAttention(nn.Module):
    """A DFC gate for a fixed-size graph, up-sampled by an integer-scale ``nearest`` resize and, where the
    sizes are not a multiple of each other, a strided depthwise conv with a one-hot kernel that picks PyTorch's
    rows (:func:`upsample_plan`). onnxruntime runs both in its blocked layout, where it runs a resize to a size
    that is not a multiple unblocked; LiteRT's XNNPACK delegate runs both, and its integer-scale resize picks
    PyTorch's rows (its pixel-centre mapping does not at other scales: 7 from 3 repeats other rows).

    Args:
        module: The :class:`DFCAttention` (``upsample_mode='nearest'``).
        fallback: For sizes without a plan: ``'resize'`` to the size (what PyTorch's export writes, right in
            onnxruntime) or ``'gather'`` of PyTorch's rows (:func:`nearest_indices`; right in LiteRT).
    """

    def __init__(self, module: DFCAttention, fallback: str = 'resize') -> None:
        super().__init__()
        if fallback not in FALLBACKS:
            raise ValueError(f'fallback must be one of {FALLBACKS}, got {fallback!r}')
        self.attention = copy.deepcopy(module)
        self.channels = [layer for layer in module.children() if isinstance(layer, nn.Conv2d)][-1].out_channels
        self.fallback = fallback

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        gate = self.attention.pooled_gate(x)
        sizes = [(int(out), int(pooled)) for out, pooled in zip(size, gate.shape[-2:])]
        plans = [upsample_plan(out, pooled) for out, pooled in sizes]
        if None in plans:
            if self.fallback == 'resize':
                return F.interpolate(gate, size=size, mode='nearest')
            rows, cols = (nearest_indices(out, pooled) for out, pooled in sizes)
            return gate.index_select(2, rows).index_select(3, cols)
        gate = F.interpolate(gate, scale_factor=tuple(float(plan.scale) for plan in plans), mode='nearest')
        # The one-hot kernel picks the rows at the plan's offset and spans those left over at the end.
        kernel = [plan.scale * pooled - plan.stride * (out - 1) for plan, (out, pooled) in zip(plans, sizes)]
        if kernel == [1, 1] and all(plan.stride == 1 for plan in plans):  # the sizes are multiples
            return gate
        # Built in NumPy and taken in as data, so that an exported graph holds a constant (LiteRT built a kernel
        # made by torch.zeros and an index assignment in every run, outside its XNNPACK delegate). The tracer's
        # warning that the data becomes a constant of the trace is what is meant here.
        weight = np.zeros((self.channels, 1, *kernel), dtype=np.float32)
        weight[:, :, plans[0].offset, plans[1].offset] = 1
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            weight = torch.tensor(weight.tolist(), dtype=gate.dtype, device=gate.device)
        return F.conv2d(gate, weight, stride=tuple(plan.stride for plan in plans), groups=self.channels)
