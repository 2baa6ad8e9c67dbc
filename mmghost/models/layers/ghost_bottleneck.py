"""The GhostNet(V2) bottleneck."""
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from torch import Tensor

from mmghost.utils.typing import ConfigType
from .ghost_module import GhostModule
from .squeeze_excite import SqueezeExcite


class GhostBottleneck(nn.Module):
    """Ghost bottleneck: expanding Ghost module, optional strided depthwise conv, optional SE,
    projecting Ghost module, plus a shortcut.

    Module names follow the official checkpoint (``ghost1``, ``conv_dw``, ``bn_dw``, ``se``, ``ghost2``,
    ``shortcut``); which of them exist depends only on the architecture, never on dilation, so one
    checkpoint fits every output stride.

    Args:
        in_channels: Input channels.
        mid_channels: Expanded channels.
        out_channels: Output channels.
        kernel_size: Kernel of the depthwise convs (``conv_dw`` and the shortcut's). Defaults to 3.
        stride: The block's stride in the architecture. A block with stride > 1 has ``conv_dw`` and a
            projection shortcut, whether it down-samples or not. Defaults to 1.
        dilation: Dilation of the block's input: of the spatial convs that run at the input
            resolution (``ghost1``, ``conv_dw``, the shortcut's depthwise conv). Defaults to 1.
        stride_as_dilation: Keep the resolution: ``conv_dw`` and the shortcut run at stride 1, and
            ``ghost2`` gets dilation ``dilation * stride`` (a dilated stage, output stride < 32).
            Defaults to False.
        se_ratio: Squeeze-and-excitation ratio; 0 for none. Defaults to 0.
        with_attention: Gate ``ghost1`` with DFC attention. Defaults to False.
        attention_upsample: Up-sampling mode of the DFC gate. Defaults to ``'nearest'``.
        norm_cfg: Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg: Activation config. Defaults to ``dict(type='ReLU', inplace=True)``.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 *,
                 kernel_size: int = 3,
                 stride: int = 1,
                 dilation: int = 1,
                 stride_as_dilation: bool = False,
                 se_ratio: float = 0.,
                 with_attention: bool = False,
                 attention_upsample: str = 'nearest',
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU', inplace=True)) -> None:
        super().__init__()
        conv_stride = 1 if stride_as_dilation else stride
        out_dilation = dilation * stride if stride_as_dilation else dilation
        padding = dilation * (kernel_size - 1) // 2

        self.ghost1 = GhostModule(in_channels, mid_channels, dilation=dilation, with_attention=with_attention,
                                  attention_upsample=attention_upsample, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_dw = self.bn_dw = None
        if stride > 1:
            self.conv_dw = nn.Conv2d(mid_channels, mid_channels, kernel_size, conv_stride, padding,
                                     dilation=dilation, groups=mid_channels, bias=False)
            self.bn_dw = build_norm_layer(norm_cfg, mid_channels)[1]
        self.se = SqueezeExcite(mid_channels, se_ratio=se_ratio, act_cfg=act_cfg) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_channels, out_channels, dilation=out_dilation, norm_cfg=norm_cfg,
                                  act_cfg=None)

        if in_channels == out_channels and stride == 1:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, in_channels, kernel_size, conv_stride, padding, dilation=dilation,
                          groups=in_channels, bias=False),
                build_norm_layer(norm_cfg, in_channels)[1],
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.ghost1(x)
        if self.conv_dw is not None:
            out = self.bn_dw(self.conv_dw(out))
        if self.se is not None:
            out = self.se(out)
        out = self.ghost2(out)
        out += self.shortcut(x)  # in place: the projection output is needed by nothing else
        return out
