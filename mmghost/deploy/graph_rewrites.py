"""Exact rewrites of GhostNetV2 for a runtime, applied to a copy before export: for LiteRT, the DFC gate's
nearest up-sampling as an index gather (:func:`rewrite_for_litert`); for onnxruntime's CPU provider, the
rewrites below (:func:`rewrite_for_onnxruntime`).

The trained network and its checkpoints do not change: :func:`rewrite_for_onnxruntime` builds new convs from
the folded weights. Each rewrite computes the same function (to float rounding) with a graph that onnxruntime
runs faster, because it keeps the maps in its blocked channel layout (NCHWc, 8 or 16 channels per block) and
avoids the reorders in and out of it that a Concat of unaligned channel counts forces:

- **Aligned Ghost halves.** The expanding Ghost module (``ghost1``) of a bottleneck writes each half of its
  output into a slot of a multiple of :data:`CHANNEL_ALIGN` channels; the extra channels have zero weights and
  zero bias, so they hold zeros. Every consumer inside the bottleneck (DFC gate, ``conv_dw``, SE, ``ghost2``)
  is rebuilt for that layout: depthwise convs get zero kernels there, 1x1 convs zero input columns.
- **One depthwise conv instead of the Concat** in Ghost modules with at most :data:`SINGLE_CONV_MAX_IN`
  input channels (the high-resolution ones): the primary conv computes its rows twice, and one depthwise
  conv runs an identity kernel on the first copy and the cheap kernel on the second.
- **SE squeeze by GlobalAveragePool** instead of ReduceMean.

Tried and left out: expanding the SE scale to the map's shape before the multiply (the Expand runs unblocked:
slower), and up-sampling the DFC gate by a constant scale of 2 in fixed-size graphs (onnxruntime already
runs those Resizes blocked; in dynamic graphs a constant scale is wrong at odd sizes).
"""
import copy
import math
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmghost.models.layers import DFCAttention, GhostBottleneck, GhostModule, SqueezeExcite
from .fuse import fuse_model

REWRITTEN_BACKENDS = ('onnxruntime', )  # in OpenVINO, ncnn, MNN and eager PyTorch the rewrites do not pay
CHANNEL_ALIGN = 16  # onnxruntime's NCHWc block on AVX-512; a multiple of the AVX2 block (8)
SINGLE_CONV_MAX_IN = 24  # Ghost modules with this many input channels or fewer lose their Concat


@dataclass(frozen=True)
class Layout:
    """Where the real channels of a map lie in a wider map whose other channels hold zeros.

    Args:
        positions: The index of each real channel in the wide map, in order.
        width: The wide map's channels.
    """
    positions: Tensor
    width: int

    @classmethod
    def ghost(cls, out_channels: int, half_width: int) -> 'Layout':
        """A Ghost module's output, each half (primary, cheap) starting a slot of ``half_width`` channels."""
        half = math.ceil(out_channels / 2)
        return cls(torch.cat([torch.arange(half), half_width + torch.arange(out_channels - half)]), 2 * half_width)


def _scatter(tensor: Tensor, dim: int, layout: Layout) -> Tensor:
    shape = list(tensor.shape)
    shape[dim] = layout.width
    return tensor.new_zeros(shape).index_copy_(dim, layout.positions, tensor)


def _conv(conv: nn.Conv2d, weight: Tensor, bias: Optional[Tensor], groups: int) -> nn.Conv2d:
    new = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], conv.kernel_size, conv.stride, conv.padding,
                    conv.dilation, groups=groups, bias=bias is not None)
    new.weight.data.copy_(weight)
    if bias is not None:
        new.bias.data.copy_(bias)
    return new


def spread_conv(conv: nn.Conv2d, out_layout: Optional[Layout] = None, in_layout: Optional[Layout] = None) -> nn.Conv2d:
    """A copy of ``conv`` whose outputs are spread to ``out_layout`` and whose inputs are read from ``in_layout``.

    Args:
        conv: A dense (groups 1) or depthwise conv.
        out_layout: Where the outputs go; None keeps them dense.
        in_layout: Where the inputs are; None reads a dense input.
    """
    weight, bias = conv.weight.detach(), None if conv.bias is None else conv.bias.detach()
    if conv.groups == 1:
        if in_layout is not None:
            weight = _scatter(weight, 1, in_layout)
        if out_layout is not None:
            weight = _scatter(weight, 0, out_layout)
            bias = None if bias is None else _scatter(bias, 0, out_layout)
        return _conv(conv, weight, bias, 1)
    if conv.groups != conv.in_channels or conv.groups != conv.out_channels:
        raise ValueError(f'spread_conv takes a dense or depthwise conv, got groups={conv.groups} for '
                         f'{conv.in_channels} -> {conv.out_channels} channels')
    layout = out_layout or in_layout
    if layout is None:
        return copy.deepcopy(conv)
    return _conv(conv, _scatter(weight, 0, layout), None if bias is None else _scatter(bias, 0, layout),
                 layout.width)


def _identity_kernel(like: Tensor) -> Tensor:
    kernel = torch.zeros_like(like)
    kernel[:, :, like.shape[2] // 2, like.shape[3] // 2] = 1
    return kernel


class RewrittenGhostModule(nn.Module):
    """A folded Ghost module whose output is in a :class:`Layout`, with or without the Concat.

    Args:
        module: The folded :class:`GhostModule` (BatchNorm replaced by identities).
        layout: The output layout (see :meth:`Layout.ghost`).
        in_layout: The input layout; None for a dense input.
        single_conv: Compute the primary rows twice and run one depthwise conv (identity kernel on the first
            copy) instead of concatenating the primary and cheap halves.
    """

    def __init__(self, module: GhostModule, layout: Layout, in_layout: Optional[Layout] = None,
                 single_conv: bool = False) -> None:
        super().__init__()
        conv, act = module.primary_conv[0], module.primary_conv[2]
        cheap, cheap_act = module.cheap_operation[0], module.cheap_operation[2]
        half = conv.out_channels
        real = len(layout.positions)
        if single_conv:
            # Row i of the output: primary row i (identity kernel), then cheap row i - half of the copy.
            rows = torch.cat([torch.arange(half), torch.arange(real - half)])
            bias = None if conv.bias is None else conv.bias.detach()[rows]
            primary = _conv(conv, conv.weight.detach()[rows], bias, 1)
            kernel = torch.cat([_identity_kernel(cheap.weight.detach()), cheap.weight.detach()])[:real]
            cheap_bias = None if cheap.bias is None else torch.cat([torch.zeros(half), cheap.bias.detach()])[:real]
            depthwise = _conv(cheap, kernel, cheap_bias, real)
            self.primary_conv = nn.Sequential(spread_conv(primary, layout, in_layout), act)
            self.cheap_operation = nn.Sequential(spread_conv(depthwise, layout), cheap_act)
        else:
            half_layout = Layout(torch.arange(half), layout.width // 2)
            self.primary_conv = nn.Sequential(spread_conv(conv, half_layout, in_layout), act)
            self.cheap_operation = nn.Sequential(spread_conv(cheap, half_layout), cheap_act)
        self.single_conv = single_conv
        self.short_conv = None
        if module.short_conv is not None:
            self.short_conv = copy.deepcopy(module.short_conv)
            for name in ('0', '2', '4'):  # the 1x1 projection (reads the module's input), then the depthwise FCs
                conv = getattr(self.short_conv, name)
                setattr(self.short_conv, name, spread_conv(conv, layout, in_layout if name == '0' else None))

    def forward(self, x: Tensor) -> Tensor:
        primary = self.primary_conv(x)
        if self.single_conv:
            out = self.cheap_operation(primary)
        else:
            out = torch.cat([primary, self.cheap_operation(primary)], dim=1)
        return out if self.short_conv is None else out * self.short_conv(x, out.shape[-2:])


class RewrittenSqueezeExcite(nn.Module):
    """Squeeze-and-excitation by GlobalAveragePool (which onnxruntime runs blocked), in a :class:`Layout`.

    Args:
        module: The :class:`SqueezeExcite`.
        layout: The layout of its input and output; None for dense.
    """

    def __init__(self, module: SqueezeExcite, layout: Optional[Layout] = None) -> None:
        super().__init__()
        self.conv_reduce = spread_conv(module.conv_reduce, in_layout=layout)
        self.act1 = copy.deepcopy(module.act1)
        self.conv_expand = spread_conv(module.conv_expand, out_layout=layout)
        self.gate = copy.deepcopy(module.gate)

    def forward(self, x: Tensor) -> Tensor:
        scale = self.gate(self.conv_expand(self.act1(self.conv_reduce(F.adaptive_avg_pool2d(x, 1)))))
        return x * scale


def _rewrite_bottleneck(block: GhostBottleneck) -> None:
    ghost1 = block.ghost1
    in_channels = ghost1.primary_conv[0].in_channels
    single = in_channels <= SINGLE_CONV_MAX_IN
    half = ghost1.primary_conv[0].out_channels
    layout = Layout.ghost(ghost1.out_channels, half if single else -(-half // CHANNEL_ALIGN) * CHANNEL_ALIGN)
    block.ghost1 = RewrittenGhostModule(ghost1, layout, single_conv=single)
    if block.conv_dw is not None:
        block.conv_dw = spread_conv(block.conv_dw, layout)
    if block.se is not None:
        block.se = RewrittenSqueezeExcite(block.se, layout)
    ghost2 = block.ghost2
    if ghost2.out_channels % 2:
        raise ValueError(f'rewrite_for_onnxruntime needs even Ghost module widths, got a bottleneck output of '
                         f'{ghost2.out_channels} channels')
    ghost2_in = ghost2.primary_conv[0].in_channels
    block.ghost2 = RewrittenGhostModule(ghost2, Layout.ghost(ghost2.out_channels, ghost2.primary_conv[0].out_channels),
                                        in_layout=layout, single_conv=ghost2_in <= SINGLE_CONV_MAX_IN)


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


def rewrite_for_litert(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose DFC gates up-sample by :class:`GatheredDFCAttention` (bilinear ones are kept:
    LiteRT's bilinear resize matches PyTorch's).

    Args:
        model: A backbone, detector or segmentor, in eval mode.

    Returns:
        The rewritten copy; ``model`` is unchanged.
    """
    rewritten = copy.deepcopy(model)
    for module in list(rewritten.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, DFCAttention) and child.upsample_mode == 'nearest':
                setattr(module, name, GatheredDFCAttention(child))
    return rewritten


def rewrite_for_onnxruntime(model: nn.Module) -> nn.Module:
    """A BN-folded copy of ``model`` with every GhostNetV2 bottleneck and SE rewritten (see the module doc).

    Args:
        model: A backbone, detector or segmentor, in eval mode, folded or not.

    Returns:
        The rewritten copy; ``model`` is unchanged.
    """
    rewritten = fuse_model(copy.deepcopy(model))
    for module in list(rewritten.modules()):
        if isinstance(module, GhostBottleneck):
            _rewrite_bottleneck(module)
    for module in list(rewritten.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, SqueezeExcite):
                setattr(module, name, RewrittenSqueezeExcite(child))
    rewritten.eval()  # not chained: mmdet's MobileNetV2.train() returns None
    return rewritten
