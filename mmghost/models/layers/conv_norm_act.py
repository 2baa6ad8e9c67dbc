"""Conv + norm + activation with the official checkpoint's child names."""
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType


class ConvNormAct(nn.Module):
    """1x1 conv (``conv``), norm (``bn1``) and activation (``act1``), the last stage of GhostNetV2.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        norm_cfg: Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg: Activation config. Defaults to ``dict(type='ReLU', inplace=True)``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU', inplace=True)) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act1 = build_activation_layer(act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.act1(self.bn1(self.conv(x)))
