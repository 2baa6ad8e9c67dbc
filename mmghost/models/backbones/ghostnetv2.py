"""GhostNetV2 backbone for dense prediction."""
from numbers import Real
from typing import List, Sequence, Tuple

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmghost.compat import mark_initialized
from mmghost.registry import register_model
from mmghost.utils.typing import ConfigType, OptMultiConfig
from ..layers import ConvNormAct, GhostBottleneck
from ..layers.dfc_attention import UPSAMPLE_MODES
from ..make_divisible import make_divisible
from .weights import load_pretrained

ATTENTION_PLACEMENTS = ('official', 'all', 'none')
OUTPUT_STRIDES = (8, 16, 32)


@register_model
class GhostNetV2(BaseModule):
    """GhostNetV2 backbone (`GhostNetV2: Enhance Cheap Operation with Long-Range Attention
    <https://arxiv.org/abs/2211.12905>`_).

    Module and parameter names are those of the official ``ck_ghostnetv2_*.pth.tar`` checkpoints and
    timm's ``ghostnetv2_*``, so both load through ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
    The classification head (``conv_head``, ``classifier``) is not part of the backbone.

    Stage ``i`` is the module ``blocks.i``. Strides and channels at 1.0x (output stride 32):

    =====  =======  ========  =====================================
    index  stride   channels  content
    =====  =======  ========  =====================================
    0      2        16        1 bottleneck
    1      4        24        1 bottleneck (stride 2)
    2      4        24        1 bottleneck (end of stride 4)
    3      8        40        1 bottleneck (stride 2), SE
    4      8        40        1 bottleneck, SE (end of stride 8)
    5      16       80        1 bottleneck (stride 2)
    6      16       112       5 bottlenecks (end of stride 16)
    7      32       160       1 bottleneck (stride 2), SE
    8      32       160       4 bottlenecks
    9      32       960       1x1 conv (end of stride 32)
    =====  =======  ========  =====================================

    Args:
        widen_factor: Width multiplier; channels are ``make_divisible(c * widen_factor, 4)``.
            The official weights exist for 1.0, 1.3 and 1.6. Defaults to 1.0.
        out_indices: Stages whose outputs are returned, strictly increasing, in ``[0, 9]``. Only
            ``blocks.0`` to ``blocks.{max(out_indices)}`` are built; the names of the others are in
            ``unbuilt_modules``, and loading official or timm weights drops (and logs) their keys.
            Defaults to ``(2, 4, 6, 9)``, the end of each resolution (strides 4, 8, 16, 32).
        frozen_stages: Freeze the stem and the first ``frozen_stages`` stages (``blocks.0`` to
            ``blocks.{frozen_stages - 1}``): parameters get ``requires_grad=False`` and the modules stay
            in eval mode. -1 freezes nothing, 0 only the stem. Defaults to -1.
        output_stride: 32, 16 or 8. Below 32, the stride-2 blocks of the last stages run at stride 1
            and every spatial conv from there on is dilated so that it spans the same image extent as
            in the undilated network; DFC attention pools by ``2 * dilation`` so that its convs see the
            map they were trained on. No parameter changes name or shape. Defaults to 32.
        attention_blocks: Which bottlenecks gate ``ghost1`` with DFC attention: ``'official'`` (every
            bottleneck but the first two, as the official code), ``'all'`` or ``'none'`` (GhostNetV1's
            trunk). Defaults to ``'official'``.
        attention_upsample: Up-sampling of the DFC gate: ``'nearest'`` (official code) or
            ``'bilinear'`` (the paper's text). Defaults to ``'nearest'``.
        norm_cfg: Norm layer config (BN, SyncBN, GN, ...). Defaults to ``dict(type='BN')``.
        act_cfg: Activation config. Defaults to ``dict(type='ReLU', inplace=True)``.
        norm_eval: Keep BatchNorm layers in eval mode (frozen statistics) during training.
            Defaults to False.
        with_cp: Gradient checkpointing per bottleneck: less memory, more compute. Defaults to False.
        init_cfg: Initialization config. ``dict(type='Pretrained', checkpoint=PATH_OR_URL)`` loads an
            official, timm or mmghost checkpoint strictly (see :func:`load_pretrained`).
            Defaults to Kaiming for convs and 1 for norm layers.

    Example:
        >>> import torch
        >>> from mmghost.models import GhostNetV2
        >>> model = GhostNetV2().eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 24, 56, 56)
        (1, 40, 28, 28)
        (1, 112, 14, 14)
        (1, 960, 7, 7)
    """

    # One inner tuple per stage ``blocks.i``, one row per bottleneck:
    # kernel, expansion channels, output channels, SE ratio, stride
    arch_settings = (
        ((3, 16, 16, 0, 1), ),
        ((3, 48, 24, 0, 2), ),
        ((3, 72, 24, 0, 1), ),
        ((5, 72, 40, 0.25, 2), ),
        ((5, 120, 40, 0.25, 1), ),
        ((3, 240, 80, 0, 2), ),
        ((3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1),
         (3, 672, 112, 0.25, 1)),
        ((5, 672, 160, 0.25, 2), ),
        ((5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)),
    )
    stem_channels = 16
    num_stages = len(arch_settings) + 1  # the bottleneck stages plus the final 1x1 conv

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (2, 4, 6, 9),
                 frozen_stages: int = -1,
                 output_stride: int = 32,
                 attention_blocks: str = 'official',
                 attention_upsample: str = 'nearest',
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU', inplace=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = [
                     dict(type='Kaiming', layer='Conv2d'),
                     dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
                 ]) -> None:
        super().__init__(init_cfg=init_cfg)
        self._check_args(widen_factor, out_indices, frozen_stages, output_stride, attention_blocks,
                         attention_upsample)
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.output_stride = output_stride
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        channels = make_divisible(self.stem_channels * widen_factor, 4)
        self.conv_stem = nn.Conv2d(3, channels, 3, stride=2, padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.act1 = build_activation_layer(act_cfg)

        # Stages after the last tapped one are not built: no parameter goes without a gradient.
        num_built = self.out_indices[-1] + 1
        stage_channels: List[int] = []
        stage_strides: List[int] = []
        stride, dilation, block_index = 2, 1, 0
        stages = []
        for stage_setting in self.arch_settings:
            blocks = []
            for kernel_size, expansion, out_channels, se_ratio, block_stride in stage_setting:
                stride_as_dilation = stride * block_stride > output_stride
                out_channels = make_divisible(out_channels * widen_factor, 4)
                blocks.append(
                    dict(
                        in_channels=channels,
                        mid_channels=make_divisible(expansion * widen_factor, 4),
                        out_channels=out_channels,
                        kernel_size=kernel_size,
                        stride=block_stride,
                        dilation=dilation,
                        stride_as_dilation=stride_as_dilation,
                        se_ratio=se_ratio,
                        with_attention=(attention_blocks == 'all'
                                        or (attention_blocks == 'official' and block_index > 1))))
                channels = out_channels
                if stride_as_dilation:
                    dilation *= block_stride
                else:
                    stride *= block_stride
                block_index += 1
            if len(stages) < num_built:
                stages.append(
                    nn.Sequential(*(GhostBottleneck(**block, attention_upsample=attention_upsample,
                                                    norm_cfg=norm_cfg, act_cfg=act_cfg) for block in blocks)))
            stage_channels.append(channels)
            stage_strides.append(stride)
        last_channels = make_divisible(self.arch_settings[-1][-1][1] * widen_factor, 4)
        if len(stages) < num_built:
            stages.append(nn.Sequential(ConvNormAct(channels, last_channels, norm_cfg=norm_cfg, act_cfg=act_cfg)))
        stage_channels.append(last_channels)
        stage_strides.append(stride)
        self.blocks = nn.Sequential(*stages)
        self.unbuilt_modules = tuple(f'blocks.{i}' for i in range(num_built, self.num_stages))

        self.stage_channels = tuple(stage_channels)
        self.stage_strides = tuple(stage_strides)
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    @classmethod
    def _check_args(cls, widen_factor: float, out_indices: Sequence[int], frozen_stages: int,
                    output_stride: int, attention_blocks: str, attention_upsample: str) -> None:
        """Raise ``ValueError``/``TypeError`` naming the first bad argument."""
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, Real):
            raise TypeError(f'widen_factor must be a positive number, got {widen_factor!r}')
        if not widen_factor > 0:
            raise ValueError(f'widen_factor must be > 0, got {widen_factor!r}')
        if isinstance(out_indices, (str, bytes)) or not isinstance(out_indices, Sequence):
            raise TypeError(f'out_indices must be a sequence of ints, got {out_indices!r}')
        if (not out_indices or any(isinstance(i, bool) or not isinstance(i, int) for i in out_indices)
                or any(i not in range(cls.num_stages) for i in out_indices)
                or list(out_indices) != sorted(set(out_indices))):
            raise ValueError(f'out_indices must be strictly increasing stage indices in '
                             f'[0, {cls.num_stages - 1}], got {out_indices!r}')
        if isinstance(frozen_stages, bool) or frozen_stages not in range(-1, cls.num_stages + 1):
            raise ValueError(f'frozen_stages must be an int in [-1, {cls.num_stages}], got {frozen_stages!r}')
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f'output_stride must be one of {OUTPUT_STRIDES}, got {output_stride!r}')
        if attention_blocks not in ATTENTION_PLACEMENTS:
            raise ValueError(f'attention_blocks must be one of {ATTENTION_PLACEMENTS}, '
                             f'got {attention_blocks!r}')
        if attention_upsample not in UPSAMPLE_MODES:
            raise ValueError(f'attention_upsample must be one of {UPSAMPLE_MODES}, '
                             f'got {attention_upsample!r}')

    def _freeze_stages(self) -> None:
        """Put the frozen modules in eval mode and stop their gradients."""
        if self.frozen_stages < 0:
            return
        frozen = [self.conv_stem, self.bn1, *self.blocks[:self.frozen_stages]]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Initialize weights; a ``Pretrained`` ``init_cfg`` is loaded strictly by mmghost."""
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            load_pretrained(self, self.init_cfg['checkpoint'], self.init_cfg.get('prefix'),
                            MMLogger.get_current_instance())
            mark_initialized(self)
        else:
            super().init_weights()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the outputs of the stages in ``out_indices``.

        Args:
            x: Images, (N, 3, H, W) of any size (tested from 32 px up, any aspect ratio).

        Returns:
            One (N, C_i, ceil(H / s_i), ceil(W / s_i)) map per index in ``out_indices``, with
            ``C_i = stage_channels[i]`` and ``s_i = stage_strides[i]``.
        """
        x = self.act1(self.bn1(self.conv_stem(x)))
        outs = []
        for index, stage in enumerate(self.blocks):
            for block in stage:
                if self.with_cp and x.requires_grad:
                    x = cp.checkpoint(block, x, use_reentrant=False)
                else:
                    x = block(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'GhostNetV2':
        """Set train mode, keeping frozen stages and (with ``norm_eval``) BatchNorm layers in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
