"""DFC attention: the decoupled fully-connected gate of GhostNetV2."""
from typing import Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType

UPSAMPLE_MODES = ('nearest', 'bilinear')


class DFCAttention(nn.Module):
    """Decoupled fully-connected attention, computed on a down-sampled copy of the input.

    The input is average-pooled by ``2 * dilation``, projected by a 1x1 conv, then mixed along the width
    by a (1, 5) and along the height by a (5, 1) depthwise conv (the "horizontal" and "vertical" FC),
    each followed by a norm layer. A sigmoid of the result, up-sampled to the size of the gated map, is
    the gate.

    At ``dilation`` 1 this is the official computation (2x2 pooling). In a stage that runs at ``dilation``
    d instead of being down-sampled by d, pooling by 2d gives the map that the pretrained network pooled
    to (each pooled value averages the same image region), and the convs run undilated on it, as they
    were trained. For an input that is the nearest up-sampling by d of the undilated network's input,
    the gate is the undilated gate up-sampled by d, up to the rounding of the pooling sums.

    The children ``'0'`` to ``'5'`` carry the official checkpoint's ``short_conv`` names: ``0`` the 1x1
    projection, ``2`` the (1, 5) conv, ``4`` the (5, 1) conv, each followed by its norm layer.

    Args:
        in_channels: Channels of the Ghost module's input.
        out_channels: Channels of the gate (the Ghost module's output).
        dilation: Dilation of the stage; the input is pooled by ``2 * dilation``. Defaults to 1.
        upsample_mode: ``'nearest'`` (official code) or ``'bilinear'`` (the paper's text).
            Defaults to ``'nearest'``.
        norm_cfg: Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 *,
                 dilation: int = 1,
                 upsample_mode: str = 'nearest',
                 norm_cfg: ConfigType = dict(type='BN')) -> None:
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(f'upsample_mode must be one of {UPSAMPLE_MODES}, got {upsample_mode!r}')
        if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
            raise ValueError(f'dilation must be a positive int, got {dilation!r}')
        super().__init__()
        layers = (
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (1, 5), padding=(0, 2), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (5, 1), padding=(2, 0), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        )
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)
        self.dilation = dilation
        self.upsample_mode = upsample_mode

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        """Compute the gate for ``x``, up-sampled to ``size``.

        Args:
            x: The Ghost module's input, (N, C_in, H, W).
            size: Spatial size (H_out, W_out) of the map to gate.

        Returns:
            The gate in (0, 1), (N, C_out, H_out, W_out).
        """
        align = False if self.upsample_mode == 'bilinear' else None
        return F.interpolate(self.pooled_gate(x), size=size, mode=self.upsample_mode, align_corners=align)

    def pooled_gate(self, x: Tensor) -> Tensor:
        """The gate at the pooled resolution, before the up-sampling.

        Args:
            x: The Ghost module's input, (N, C_in, H, W).

        Returns:
            The gate in (0, 1), (N, C_out, H // (2 * dilation), W // (2 * dilation)).
        """
        # A side shorter than the pooling window (inputs near 32 px) is pooled whole.
        kernel = tuple(min(2 * self.dilation, side) for side in x.shape[-2:])
        gate = F.avg_pool2d(x, kernel_size=kernel, stride=kernel)
        for layer in self.children():  # after BN folding the norm layers are nn.Identity
            gate = layer(gate)
        return gate.sigmoid()
