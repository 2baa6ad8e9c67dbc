"""Every GhostNetV2 model and its twin: the same model with mmdet's/mmseg's MobileNetV2 as backbone.

A twin is the same config with MobileNetV2 tapped at the same strides (neck ``in_channels`` to match), or
the peer config itself where the GhostNetV2 config was derived from it (YOLOv3-MobileNetV2,
DeepLabV3-MobileNetV2, RTMDet-tiny).
"""
import copy
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmghost.apis import build_model, resolve_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
# The end of each resolution in GhostNetV2 (stage index) and the mmdet MobileNetV2 stage at the same place.
GHOST_TO_MOBILENET = {2: 1, 4: 2, 6: 4, 8: 6, 9: 7}
MOBILENET_CHANNELS = {1: 24, 2: 32, 4: 96, 6: 320, 7: 1280}
ROW_KEYS = dict(ours='ghostnetv2', twin='twin')  # each contender's key in a row of the results


@dataclass
class Model:
    """How to build one contender: a config (path or ``mmdet::``/``mmseg::`` name) plus model overrides,
    or a bare backbone config.

    Args:
        label: The contender's name in the tables.
        config: The config, for :func:`mmghost.apis.build_model`.
        overrides: ``{'dotted.key': value}`` merged into the config's model.
        backbone: A backbone config (built in the mmdet scope) instead of a config file.
    """
    label: str
    config: Optional[str] = None
    overrides: Dict[str, Any] = field(default_factory=dict)
    backbone: Optional[dict] = None

    def build(self, extra: Optional[Dict[str, Any]] = None) -> nn.Module:
        """The model, randomly initialised, in eval mode.

        Args:
            extra: More overrides of the model, ``{'dotted.key': value}``; for a bare backbone only keys
                ``'backbone.ARG'``, which set the backbone's argument ARG.

        Raises:
            ValueError: A bare backbone got an override that is not ``'backbone.ARG'``.
        """
        overrides = {**self.overrides, **(extra or {})}
        if self.backbone is None:
            return build_model(self.config, overrides=overrides)
        backbone = copy.deepcopy(self.backbone)
        for key, value in overrides.items():
            prefix, _, arg = key.partition('.')
            if prefix != 'backbone' or not arg or '.' in arg:
                raise ValueError(f"{self.label} is a bare backbone: override {key!r} must be 'backbone.ARG'")
            backbone[arg] = value
        init_default_scope('mmdet')
        model = MODELS.build(backbone)
        model.init_weights()
        model.eval()  # mmdet's MobileNetV2.train() returns None, so no chaining
        return model

    def describe(self) -> str:
        """What is built, in markdown: the backbone config, or the config and its overrides."""
        if self.backbone is not None:
            return f'backbone `{self.backbone}`'
        source = osp.relpath(self.config, ROOT) if osp.isabs(self.config) else self.config
        return ', '.join([f'`{source}`'] + [f'`{key}={value}`' for key, value in self.overrides.items()])


@dataclass
class Case:
    """A GhostNetV2 model and its twin, timed at ``size`` (batch 1) and optionally trained.

    Args:
        name: The case's name (``--cases``, ``--int8``).
        ours: The GhostNetV2 model.
        twin: Its MobileNetV2 twin.
        size: The inference input (height, width), before padding to the preprocessor's divisor.
        heavy: Timed ``--heavy-repeats`` times instead of ``--repeats``.
        task: ``'backbone'``, ``'det'`` or ``'seg'``.
        train_batch: Images per train step; 0: no train rows.
        train_size: The training input (height, width).
    """
    name: str
    ours: Model
    twin: Model
    size: Tuple[int, int]
    heavy: bool = False
    task: str = 'det'
    train_batch: int = 0
    train_size: Optional[Tuple[int, int]] = None


def config(name: str) -> str:
    """The path of one of this repository's configs.

    Args:
        name: The file name under ``configs/``.
    """
    return osp.join(ROOT, 'configs', name)


def mobilenet_twin_of(name: str) -> Model:
    """The config ``name`` with mmdet's MobileNetV2 tapped at the same places and frozen as far.

    Args:
        name: A GhostNetV2 config, for :func:`mmghost.apis.resolve_config`.
    """
    backbone = Config.fromfile(resolve_config(name)).model.backbone
    out_indices = tuple(GHOST_TO_MOBILENET[i] for i in backbone.out_indices)
    frozen = backbone.get('frozen_stages', -1)  # GhostNetV2: the stem and blocks.0 .. blocks.{frozen - 1}
    mobilenet = dict(_delete_=True, type='MobileNetV2', out_indices=out_indices,
                     frozen_stages=frozen if frozen < 1 else GHOST_TO_MOBILENET[frozen - 1] + 1,
                     norm_cfg=backbone.get('norm_cfg', dict(type='BN')),
                     norm_eval=backbone.get('norm_eval', False))
    return Model('MobileNetV2 twin', name, {'backbone': mobilenet,
                                            'neck.in_channels': [MOBILENET_CHANNELS[i] for i in out_indices]})


def cases(smoke: bool) -> List[Case]:
    """Every GhostNetV2 model with its twin.

    Args:
        smoke: Shrink every size to a few dozen pixels.
    """
    def px(size: Tuple[int, int]) -> Tuple[int, int]:
        return (64, 96) if smoke else size

    def ours(name: str) -> Model:
        return Model('GhostNetV2', config(name))

    mmseg_d8 = 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'
    os16 = {'backbone.strides': (1, 2, 2, 2, 1, 1, 1), 'backbone.dilations': (1, 1, 1, 1, 1, 2, 2),
            'decode_head.dilations': (1, 6, 12, 18)}
    backbones = dict(ours=Model('GhostNetV2', backbone=dict(type='GhostNetV2', out_indices=(9, ))),
                     twin=Model('MobileNetV2 twin', backbone=dict(type='MobileNetV2', out_indices=(7, ))))
    return [
        Case('backbone', backbones['ours'], backbones['twin'], px((224, 224)), task='backbone'),
        Case('backbone-320', backbones['ours'], backbones['twin'], px((320, 320)), task='backbone'),
        Case('RetinaNet', ours('retinanet_ghostnetv2_coco.py'),
             mobilenet_twin_of(config('retinanet_ghostnetv2_coco.py')), px((800, 1333)), heavy=True,
             train_batch=2, train_size=px((800, 1333))),
        Case('YOLOv3-320', ours('yolov3_ghostnetv2_320_coco.py'),
             Model('YOLOv3-MobileNetV2', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'), px((320, 320))),
        Case('YOLOv3-416', ours('yolov3_ghostnetv2_416_coco.py'),
             Model('YOLOv3-MobileNetV2', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
             px((416, 416))),
        Case('DeepLabV3 OS8', ours('deeplabv3_ghostnetv2_ade20k.py'), Model('DeepLabV3-MobileNetV2', mmseg_d8),
             px((512, 512)), heavy=True, task='seg', train_batch=4, train_size=px((512, 512))),
        Case('DeepLabV3 OS16', ours('deeplabv3_ghostnetv2_os16_ade20k.py'),
             Model('DeepLabV3-MobileNetV2 OS16', mmseg_d8, os16), px((512, 512)), task='seg'),
        Case('RTMDet', ours('rtmdet_ghostnetv2_coco.py'),
             Model('RTMDet-tiny', 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'), px((640, 640))),
    ]
