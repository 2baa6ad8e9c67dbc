"""The Ghost module: a cheap depthwise conv generates half of the output channels."""
import math

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType, OptConfigType
from .dfc_attention import DFCAttention


class GhostModule(nn.Module):
    """Ghost module, optionally gated by DFC attention (GhostNetV2's ``GhostModuleV2``).

    A 1x1 ``primary_conv`` produces ``ceil(out_channels / 2)`` intrinsic channels; a 3x3 depthwise
    ``cheap_operation`` produces as many "ghost" channels from them; both are concatenated. With
    ``with_attention``, the result is multiplied by a :class:`DFCAttention` gate computed from the
    module's input (child ``short_conv``).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        dilation: Dilation of the cheap depthwise conv; DFC attention pools by ``2 * dilation``.
            Defaults to 1.
        with_attention: Gate the output with DFC attention (GhostNetV2) or not (GhostNetV1).
            Defaults to False.
        attention_upsample: Up-sampling mode of the DFC gate, ``'nearest'`` (official code) or
            ``'bilinear'`` (the paper's text). Defaults to ``'nearest'``.
        norm_cfg: Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg: Activation config, or None for no activation (the projection module of a
            bottleneck). Defaults to ``dict(type='ReLU', inplace=True)``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 *,
                 dilation: int = 1,
                 with_attention: bool = False,
                 attention_upsample: str = 'nearest',
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: OptConfigType = dict(type='ReLU', inplace=True)) -> None:
        super().__init__()
        self.out_channels = out_channels
        init_channels = math.ceil(out_channels / 2)

        def activation() -> nn.Module:
            return build_activation_layer(act_cfg) if act_cfg is not None else nn.Identity()

        self.primary_conv = nn.Sequential(
            nn.Conv2d(in_channels, init_channels, 1, bias=False),
            build_norm_layer(norm_cfg, init_channels)[1],
            activation(),
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, init_channels, 3, padding=dilation, dilation=dilation,
                      groups=init_channels, bias=False),
            build_norm_layer(norm_cfg, init_channels)[1],
            activation(),
        )
        self.short_conv = None
        if with_attention:
            self.short_conv = DFCAttention(in_channels, out_channels, dilation=dilation,
                                           upsample_mode=attention_upsample, norm_cfg=norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        primary = self.primary_conv(x)
        out = torch.cat([primary, self.cheap_operation(primary)], dim=1)
        if out.shape[1] != self.out_channels:  # odd out_channels: drop the last ghost channel
            out = out[:, :self.out_channels]
        if self.short_conv is None:
            return out
        return out * self.short_conv(x, out.shape[-2:])
