"""The metadata of a network file (the network only; NumPy does pre- and post-processing): the data
preprocessor's arithmetic and, for a detector, how ``mmghost_runtime.detection`` decodes the head outputs,
for a segmentor how ``mmghost_runtime.segmentation`` turns logits into classes. Read from the model."""
from typing import Any, Dict, List

import torch.nn as nn

from .end_to_end import ImagePreprocess

CODERS = ('DeltaXYWHBBoxCoder', 'DistancePointBBoxCoder', 'YOLOBBoxCoder')


def _floats(values) -> List[float]:
    return [float(v) for v in values.flatten().tolist()]


def preprocess_metadata(model: nn.Module) -> Dict[str, Any]:
    """The test-time data preprocessor: ``bgr_to_rgb``, ``mean``, ``std``, ``size_divisor``, ``pad_value``."""
    preprocess = ImagePreprocess(model.data_preprocessor)
    return dict(bgr_to_rgb=preprocess.flip, mean=_floats(preprocess.mean), std=_floats(preprocess.std),
                size_divisor=preprocess.divisor, pad_value=preprocess.pad_value)


def head_metadata(head: nn.Module, num_outputs: int) -> Dict[str, Any]:
    """How to decode a dense head's outputs: priors, box coder and ``test_cfg``.

    Args:
        head: RetinaNet-like (anchor grids, ``DeltaXYWHBBoxCoder``), RTMDet-like (points,
            ``DistancePointBBoxCoder``) or YOLOv3 ``bbox_head``.
        num_outputs: How many tensors the network file returns (class scores and box predictions per level,
            or YOLOv3's prediction maps).
    """
    from mmdet.models.dense_heads import YOLOV3Head
    from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
    from mmdet.models.task_modules.prior_generators import AnchorGenerator, MlvlPointGenerator
    if not isinstance(head, BaseDenseHead) or getattr(head, 'test_cfg', None) is None:
        raise TypeError(f'network export supports dense heads with a test_cfg (RetinaNet, RTMDet, YOLOv3 and '
                        f'the like), got {type(head).__name__}')
    coder, generator, cfg = head.bbox_coder, head.prior_generator, head.test_cfg
    if type(coder).__name__ not in CODERS:
        raise ValueError(f'network export decodes boxes with {CODERS}, got {type(coder).__name__}')
    nms = cfg.get('nms', dict(type='nms', iou_threshold=0.5))
    if nms.get('type', 'nms') != 'nms':
        raise ValueError(f"test_cfg.nms.type must be 'nms', got {nms['type']!r}")
    if getattr(head, 'with_score_factor', False) or getattr(head, 'with_objectness', False):
        raise ValueError(f'{type(head).__name__} has score factors (centerness or objectness maps), which the '
                         'network export does not decode')
    is_yolo = isinstance(head, YOLOV3Head)
    if isinstance(generator, MlvlPointGenerator):
        priors = dict(priors='point', offset=float(generator.offset))
    elif isinstance(generator, AnchorGenerator) and \
            type(generator).single_level_grid_priors is AnchorGenerator.single_level_grid_priors:
        priors = dict(priors='yolo' if is_yolo else 'anchor',
                      base_anchors=[[_floats(a) for a in level] for level in generator.base_anchors])
    else:
        raise ValueError(f'network export supports AnchorGenerator and MlvlPointGenerator priors, got '
                         f'{type(generator).__name__}')
    levels = generator.num_levels
    if num_outputs != (levels if is_yolo else 2 * levels):
        raise ValueError(f'{type(head).__name__} has {levels} levels, but the network returns {num_outputs} '
                         'tensors')
    description = dict(
        num_levels=levels,
        strides=[[float(s) for s in stride] for stride in generator.strides],
        coder=dict(type=type(coder).__name__, encode_size=int(coder.encode_size),
                   clip_border=bool(getattr(coder, 'clip_border', True)),
                   means=[float(m) for m in getattr(coder, 'means', (0., ) * 4)],
                   stds=[float(s) for s in getattr(coder, 'stds', (1., ) * 4)],
                   add_ctr_clamp=bool(getattr(coder, 'add_ctr_clamp', False)),
                   ctr_clamp=float(getattr(coder, 'ctr_clamp', 32))),
        test_cfg=dict(score_thr=float(cfg.get('score_thr', 0)), nms_pre=int(cfg.get('nms_pre', -1)),
                      conf_thr=float(cfg.get('conf_thr', -1)), min_bbox_size=float(cfg.get('min_bbox_size', -1)),
                      iou_threshold=float(nms['iou_threshold']), class_agnostic=bool(nms.get('class_agnostic', False)),
                      max_per_img=int(cfg['max_per_img'])),
        **priors)
    if is_yolo:
        description.update(num_attrib=int(head.num_attrib))
    else:
        description.update(cls_out_channels=int(head.cls_out_channels), use_sigmoid_cls=bool(head.use_sigmoid_cls))
    return description


def network_metadata(model: nn.Module, input_name: str, output_names: List[str]) -> Dict[str, Any]:
    """The ``network`` entry of a detector's or segmentor's network file.

    Args:
        model: The mmdet detector (dense ``bbox_head``) or mmseg segmentor (``decode_head``, ``whole`` mode).
        input_name: The name of the file's input.
        output_names: The names of its outputs, in order.
    """
    description = dict(input_name=input_name, output_names=list(output_names), **preprocess_metadata(model))
    if hasattr(model, 'bbox_head'):
        description['head'] = head_metadata(model.bbox_head, len(output_names))
    else:
        mode = model.test_cfg.get('mode', 'whole') if model.test_cfg else 'whole'
        if mode != 'whole':
            raise ValueError(f"network export supports test_cfg.mode='whole', got {mode!r}")
        head = model.decode_head
        threshold = getattr(head, 'threshold', None)
        description['segmentor'] = dict(align_corners=bool(head.align_corners),
                                        threshold=0.3 if threshold is None else float(threshold))  # mmseg's default
    return description
