"""Squeeze-and-excitation with a hard-sigmoid gate, as used in GhostNet."""
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType
from ..make_divisible import make_divisible


class SqueezeExcite(nn.Module):
    """Channel attention: global average pool, reduce, activate, expand, hard-sigmoid gate.

    Args:
        channels: Input and output channels.
        se_ratio: Ratio of the reduced channels, rounded to a multiple of 4.
        act_cfg: Activation after the reduction. Defaults to ``dict(type='ReLU', inplace=True)``.
    """

    def __init__(self,
                 channels: int,
                 se_ratio: float,
                 act_cfg: ConfigType = dict(type='ReLU', inplace=True)) -> None:
        super().__init__()
        reduced = make_divisible(channels * se_ratio, 4)
        self.conv_reduce = nn.Conv2d(channels, reduced, 1, bias=True)
        self.act1 = build_activation_layer(act_cfg)
        self.conv_expand = nn.Conv2d(reduced, channels, 1, bias=True)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * self.gate(scale)
