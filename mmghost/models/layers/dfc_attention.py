"""DFC attention: the decoupled fully-connected gate of GhostNetV2."""
from typing import Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType

UPSAMPLE_MODES = ('nearest', 'bilinear')


class DFCAttention(nn.Sequential):
    """Decoupled fully-connected attention on a 2x down-sampled copy of the input.

    The input is average-pooled by 2, projected by a 1x1 conv, then mixed along the width by a (1, 5)
    and along the height by a (5, 1) depthwise conv (the "horizontal" and "vertical" FC), each followed
    by a norm layer. A sigmoid of the result, up-sampled to the size of the gated map, is the gate.
    The children ``0`` to ``5`` carry the official checkpoint's ``short_conv`` names.

    Args:
        in_channels: Channels of the Ghost module's input.
        out_channels: Channels of the gate (the Ghost module's output).
        dilation: Dilation of the (1, 5) and (5, 1) convs, so that in a dilated stage each tap spans
            the same image extent as in the undilated network. Defaults to 1.
        upsample_mode: ``'nearest'`` (official code) or ``'bilinear'`` (the paper's text).
            Defaults to ``'nearest'``.
        norm_cfg: Norm layer config. Defaults to ``dict(type='BN')``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilation: int = 1,
                 upsample_mode: str = 'nearest',
                 norm_cfg: ConfigType = dict(type='BN')) -> None:
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(f'upsample_mode must be one of {UPSAMPLE_MODES}, got {upsample_mode!r}')
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (1, 5), padding=(0, 2 * dilation),
                      dilation=(1, dilation), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
            nn.Conv2d(out_channels, out_channels, (5, 1), padding=(2 * dilation, 0),
                      dilation=(dilation, 1), groups=out_channels, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        )
        self.upsample_mode = upsample_mode

    def forward(self, x: Tensor, size: Tuple[int, int]) -> Tensor:
        """Compute the gate for ``x``, up-sampled to ``size``.

        Args:
            x: The Ghost module's input, (N, C_in, H, W).
            size: Spatial size (H_out, W_out) of the map to gate.

        Returns:
            The gate in (0, 1), (N, C_out, H_out, W_out).
        """
        # 2x2 pooling as in the official code; a side of 1 pixel (inputs near 32 px) is kept as is.
        kernel = tuple(min(2, side) for side in x.shape[-2:])
        gate = super().forward(F.avg_pool2d(x, kernel_size=kernel, stride=kernel)).sigmoid()
        align = False if self.upsample_mode == 'bilinear' else None
        return F.interpolate(gate, size=size, mode=self.upsample_mode, align_corners=align)
