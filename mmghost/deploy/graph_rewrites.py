"""Exact rewrites of GhostNetV2 for a runtime, applied to a copy before export: for LiteRT, the DFC gate's
nearest up-sampling by integer scales or an index gather (:func:`rewrite_for_litert`); for onnxruntime's CPU
provider, the rewrites below (:func:`rewrite_for_onnxruntime`).

The trained network and its checkpoints do not change: :func:`rewrite_for_onnxruntime` builds new convs from
the folded weights. Each rewrite computes the same function (to float rounding) with a graph that onnxruntime
runs faster, because it keeps the maps in its blocked channel layout (NCHWc, 8 or 16 channels per block) and
avoids the reorders in and out of it that a Concat of unaligned channel counts forces:

- **Aligned Ghost halves.** The expanding Ghost module (``ghost1``) of a bottleneck writes each half of its
  output into a slot of a multiple of :data:`CHANNEL_ALIGN` channels; the extra channels have zero weights and
  zero bias, so they hold zeros. Every consumer inside the bottleneck (DFC gate, ``conv_dw``, SE, ``ghost2``)
  is rebuilt for that layout: depthwise convs get zero kernels there, 1x1 convs zero input columns.
- **Aligned residual stream.** Inside a :class:`GhostNetV2`, a bottleneck output (``ghost2`` and the
  shortcut) is laid out the same way where that adds at most :data:`RESIDUAL_PAD_MAX` of a half's channels
  (24, 80 and 112 channels at width 1.0; not 40, whose halves would grow from 20 to 32), so that ``ghost2``'s
  Concat, the residual Add and the next block's DFC pooling stay blocked. The next block reads the layout; the
  stage outputs that the backbone returns are gathered back to dense channels.
- **One depthwise conv instead of the Concat** in Ghost modules with at most :data:`SINGLE_CONV_MAX_IN`
  input channels (the high-resolution ones): the primary conv computes its rows twice, and one depthwise
  conv runs an identity kernel on the first copy and the cheap kernel on the second.
- **SE squeeze by GlobalAveragePool** instead of ReduceMean.
- **Fixed-size graphs only** (``static=True``): the DFC gate is up-sampled by an integer scale and, where the
  map's side is not a multiple of the pooled side, a strided one-hot depthwise conv
  (:class:`StaticDFCAttention`; 7 from 3, the last stage at 224x224 input). onnxruntime runs a Resize to a
  non-multiple size unblocked, and the gated map with it.

Tried and left out, each slower or no faster on this project's benchmark machine (in onnxruntime where no
runtime is named):
- expanding the SE scale to the map's shape before the multiply: an Expand runs unblocked; an integer-scale
  Resize runs blocked but gained nothing beyond noise;
- ``ghost2`` as one depthwise conv too: doubling its primary conv costs more than the Concat (8% slower);
- padding every residual half (20 to 32 as well): no faster than :data:`RESIDUAL_PAD_MAX`, with more MACs;
- the odd-side gate as edge pad, scale 2 and crop: onnxruntime's Pad, Gather and Slice take 20-120 us each
  on these small maps of 960 channels, more than the Resize they replace;
- up-sampling the gate by a constant scale of 2 in dynamic graphs: wrong at odd sizes;
- in LiteRT, the gates' integer-scale up-sampling as Concats of copies and reshapes, which its XNNPACK
  delegate takes (it leaves RESIZE_NEAREST_NEIGHBOR to LiteRT's own kernel, so the backbone's file runs as 15
  partitions): one partition, but 16% slower at 224x224 and 6-10% at 320x320.
"""
import copy
import math
from functools import partial
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmghost.models.backbones.ghostnetv2 import GhostNetV2
from mmghost.models.layers import DFCAttention, GhostBottleneck, GhostModule, SqueezeExcite
from .fuse import fuse_model
from .gate_upsampling import StaticDFCAttention

REWRITTEN_BACKENDS = ('onnxruntime', )  # in OpenVINO, ncnn, MNN, LiteRT and eager PyTorch they do not pay
CHANNEL_ALIGN = 16  # onnxruntime's NCHWc block on AVX-512; a multiple of the AVX2 block (8)
SINGLE_CONV_MAX_IN = 24  # Ghost modules with this many input channels or fewer lose their Concat
RESIDUAL_PAD_MAX = 0.34  # a bottleneck output's halves are padded when that adds at most this share


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


def _aligned(channels: int) -> int:
    return -(-channels // CHANNEL_ALIGN) * CHANNEL_ALIGN


def residual_layout(channels: int) -> Optional[Layout]:
    """The layout of a bottleneck output of ``channels`` channels: each Ghost half in an aligned slot where
    that adds at most :data:`RESIDUAL_PAD_MAX` of the half's channels, else None (dense)."""
    half = math.ceil(channels / 2)
    if _aligned(half) == half or _aligned(half) - half > RESIDUAL_PAD_MAX * half:
        return None
    return Layout.ghost(channels, _aligned(half))


def _rewrite_bottleneck(block: GhostBottleneck, in_layout: Optional[Layout], pad_output: bool) -> Optional[Layout]:
    """Rewrite ``block`` in place for an input in ``in_layout``; return its output's layout: the input's where the
    shortcut is an identity, else :func:`residual_layout` (``pad_output``) or dense."""
    projection = isinstance(block.shortcut, nn.Sequential) and len(block.shortcut) > 0  # else an identity
    if not projection:
        out_layout = in_layout
    else:
        out_layout = residual_layout(block.ghost2.out_channels) if pad_output else None
    ghost1 = block.ghost1
    in_channels = ghost1.primary_conv[0].in_channels
    single = in_channels <= SINGLE_CONV_MAX_IN
    half = ghost1.primary_conv[0].out_channels
    layout = Layout.ghost(ghost1.out_channels, half if single else _aligned(half))
    block.ghost1 = RewrittenGhostModule(ghost1, layout, in_layout=in_layout, single_conv=single)
    if block.conv_dw is not None:
        block.conv_dw = spread_conv(block.conv_dw, layout)
    if block.se is not None:
        block.se = RewrittenSqueezeExcite(block.se, layout)
    ghost2 = block.ghost2
    if ghost2.out_channels % 2:
        raise ValueError(f'rewrite_for_onnxruntime needs even Ghost module widths, got a bottleneck output of '
                         f'{ghost2.out_channels} channels')
    ghost2_half = ghost2.primary_conv[0].out_channels
    block.ghost2 = RewrittenGhostModule(ghost2, out_layout or Layout.ghost(ghost2.out_channels, ghost2_half),
                                        in_layout=layout,
                                        single_conv=ghost2.primary_conv[0].in_channels <= SINGLE_CONV_MAX_IN)
    if projection:  # depthwise conv, norm, 1x1 conv, norm (the norms folded)
        block.shortcut[0] = spread_conv(block.shortcut[0], in_layout)
        block.shortcut[2] = spread_conv(block.shortcut[2], out_layout, in_layout)
    return out_layout


class RewrittenGhostNetV2(nn.Module):
    """A folded :class:`GhostNetV2` whose bottleneck outputs are in :func:`residual_layout`, with every
    returned stage output dense again.

    Args:
        backbone: The folded backbone.
    """

    def __init__(self, backbone: GhostNetV2) -> None:
        super().__init__()
        self.conv_stem, self.act1 = backbone.conv_stem, backbone.act1
        self.out_indices = backbone.out_indices
        self.blocks = backbone.blocks
        layout, self.output_positions = None, {}
        for index, stage in enumerate(self.blocks):
            for block in stage:
                if isinstance(block, GhostBottleneck):
                    layout = _rewrite_bottleneck(block, layout, pad_output=True)
                else:  # the last stage's 1x1 ConvNormAct
                    block.conv = spread_conv(block.conv, in_layout=layout)
                    layout = None
            if index in self.out_indices and layout is not None:
                self.output_positions[index] = layout.positions

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.act1(self.conv_stem(x))
        outs = []
        for index, stage in enumerate(self.blocks):
            x = stage(x)
            if index in self.out_indices:
                positions = self.output_positions.get(index)
                outs.append(x if positions is None else x.index_select(1, positions.to(x.device)))
        return tuple(outs)


def _replace(model: nn.Module, kind: type, make: Callable[[nn.Module], nn.Module]) -> nn.Module:
    """``model`` with ``make(module)`` in place of every module of type ``kind`` in it (``model`` included)."""
    if isinstance(model, kind):
        return make(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, kind):
                setattr(module, name, make(child))
    return model


def _static_nearest(module: DFCAttention, fallback: str = 'resize') -> nn.Module:
    return StaticDFCAttention(module, fallback) if module.upsample_mode == 'nearest' else module


def rewrite_for_litert(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose nearest DFC gates up-sample by :class:`StaticDFCAttention`, falling back on
    a gather of PyTorch's rows (bilinear gates are kept: LiteRT's bilinear resize matches PyTorch's).

    Args:
        model: A backbone, detector or segmentor, in eval mode.

    Returns:
        The rewritten copy; ``model`` is unchanged.
    """
    return _replace(copy.deepcopy(model), DFCAttention, partial(_static_nearest, fallback='gather'))


def _rewrite_free_bottleneck(block: GhostBottleneck) -> GhostBottleneck:
    if isinstance(block.ghost1, GhostModule):  # not rewritten yet: dense input and output
        _rewrite_bottleneck(block, None, pad_output=False)
    return block


def rewrite_for_onnxruntime(model: nn.Module, static: bool = False) -> nn.Module:
    """A BN-folded copy of ``model`` with every GhostNetV2 backbone, bottleneck and SE rewritten (see the
    module doc).

    Args:
        model: A backbone, detector or segmentor, in eval mode, folded or not.
        static: The graph will be exported for one input size: the DFC gates up-sample by
            :class:`StaticDFCAttention`. A dynamic graph must keep the default False.

    Returns:
        The rewritten copy; ``model`` is unchanged.
    """
    rewritten = _replace(fuse_model(copy.deepcopy(model)), GhostNetV2, RewrittenGhostNetV2)
    rewritten = _replace(rewritten, GhostBottleneck, _rewrite_free_bottleneck)
    rewritten = _replace(rewritten, SqueezeExcite, RewrittenSqueezeExcite)
    if static:
        rewritten = _replace(rewritten, DFCAttention, _static_nearest)
    rewritten.eval()  # not chained: mmdet's MobileNetV2.train() returns None
    return rewritten
