"""Dense-head outputs to detections in NumPy, as mmdet 3.x's ``predict_by_feat`` and ``_bbox_post_process``.

The head is described by the ``head`` entry of a network file's metadata (``mmghost.deploy.head_metadata``
writes it from the mmdet head): its priors (``anchor`` grids of base anchors, ``point`` grids, or YOLOv3's
anchors), its box coder and its ``test_cfg``. Everything is computed in float32, as mmdet does.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np

Detections = Dict[str, np.ndarray]
WH_RATIO_CLIP = 16 / 1000  # mmdet's delta2bbox default


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-x))).astype(np.float32)


def grid_priors(head: dict, feature_hw: Sequence[Tuple[int, int]]) -> List[np.ndarray]:
    """Priors of every level, (H * W * A, 4) boxes or (H * W, 2) points, in mmdet's order."""
    priors = []
    for level, (height, width) in enumerate(feature_hw):
        stride_w, stride_h = head['strides'][level]
        offset = head.get('offset', 0.0) if head['priors'] == 'point' else 0.0
        shift_x = ((np.arange(width) + offset) * stride_w).astype(np.float32)
        shift_y = ((np.arange(height) + offset) * stride_h).astype(np.float32)
        xx, yy = np.tile(shift_x, height), np.repeat(shift_y, width)
        if head['priors'] == 'point':
            priors.append(np.stack([xx, yy], -1))
        else:
            base = np.asarray(head['base_anchors'][level], dtype=np.float32)
            shifts = np.stack([xx, yy, xx, yy], -1)
            priors.append((base[None] + shifts[:, None]).reshape(-1, 4))
    return priors


def decode(coder: dict, priors: np.ndarray, deltas: np.ndarray, strides: np.ndarray = None) -> np.ndarray:
    """The box coder's ``decode`` (without clipping) for (N, 4) priors (or (N, 2) points)."""
    kind = coder['type']
    if kind == 'DeltaXYWHBBoxCoder':
        deltas = deltas * np.float32(coder['stds']) + np.float32(coder['means'])
        dxy, dwh = deltas[:, :2], deltas[:, 2:]
        pxy = (priors[:, :2] + priors[:, 2:]) * np.float32(0.5)
        pwh = priors[:, 2:] - priors[:, :2]
        dxy_wh = pwh * dxy
        max_ratio = np.float32(abs(np.log(WH_RATIO_CLIP)))
        if coder['add_ctr_clamp']:
            dxy_wh = np.clip(dxy_wh, -coder['ctr_clamp'], coder['ctr_clamp'])
            dwh = np.minimum(dwh, max_ratio)
        else:
            dwh = np.clip(dwh, -max_ratio, max_ratio)
        gxy, gwh = pxy + dxy_wh, pwh * np.exp(dwh)
        return np.concatenate([gxy - gwh * np.float32(0.5), gxy + gwh * np.float32(0.5)], -1)
    if kind == 'DistancePointBBoxCoder':
        return np.concatenate([priors[:, :2] - deltas[:, :2], priors[:, :2] + deltas[:, 2:]], -1)
    if kind == 'YOLOBBoxCoder':
        centers = (priors[:, :2] + priors[:, 2:]) * np.float32(0.5) + (deltas[:, :2] - np.float32(0.5)) * strides
        half = (priors[:, 2:] - priors[:, :2]) * np.float32(0.5) * np.exp(deltas[:, 2:])
        return np.concatenate([centers - half, centers + half], -1)
    raise ValueError(f'unknown box coder {kind!r} in the metadata (DeltaXYWHBBoxCoder, DistancePointBBoxCoder '
                     'or YOLOBBoxCoder)')


def filter_scores_and_topk(scores: np.ndarray, score_thr: float,
                           topk: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mmdet's ``filter_scores_and_topk``: the ``topk`` best (prior, class) pairs of (N, C) ``scores`` above
    ``score_thr`` (``topk`` <= 0: all but the lowest), best first; returns scores, prior indices, labels."""
    priors, labels = np.nonzero(scores > score_thr)
    values = scores[priors, labels]
    order = np.argsort(-values, kind='stable')[:min(topk, len(values))]
    return values[order], priors[order], labels[order]


def candidates(head: dict, outputs: Sequence[np.ndarray], image_hw: Tuple[int, int]) -> Tuple[np.ndarray, ...]:
    """Boxes, scores, labels (and YOLOv3's objectness) of one image before NMS, from the head outputs
    (1, C, H, W) per level: a dense head's class scores then box predictions, or YOLOv3's prediction maps."""
    cfg, levels = head['test_cfg'], head['num_levels']
    maps = [np.asarray(o[0], dtype=np.float32) for o in outputs]
    priors = grid_priors(head, [m.shape[-2:] for m in maps[:levels]])
    if head['priors'] == 'yolo':
        preds = np.concatenate([m.transpose(1, 2, 0).reshape(-1, head['num_attrib']) for m in maps[:levels]])
        strides = np.concatenate([np.full((len(p), 1), head['strides'][i][0], np.float32)
                                  for i, p in enumerate(priors)])
        deltas = np.concatenate([sigmoid(preds[:, :2]), preds[:, 2:4]], -1)
        boxes = decode(head['coder'], np.concatenate(priors), deltas, strides)
        objectness, scores = sigmoid(preds[:, 4]), sigmoid(preds[:, 5:])
        if cfg['conf_thr'] > 0:
            keep = objectness >= cfg['conf_thr']
            boxes, scores, objectness = boxes[keep], scores[keep], objectness[keep]
        scores, index, labels = filter_scores_and_topk(scores, cfg['score_thr'], cfg['nms_pre'])
        return boxes[index], scores * objectness[index], labels
    all_boxes, all_scores, all_labels = [], [], []
    for prior, cls_score, bbox_pred in zip(priors, maps[:levels], maps[levels:2 * levels]):
        scores = cls_score.transpose(1, 2, 0).reshape(-1, head['cls_out_channels'])
        if head['use_sigmoid_cls']:
            scores = sigmoid(scores)
        else:
            exp = np.exp(scores - scores.max(-1, keepdims=True))
            scores = (exp / exp.sum(-1, keepdims=True))[:, :-1]
        deltas = bbox_pred.transpose(1, 2, 0).reshape(-1, head['coder']['encode_size'])
        scores, index, labels = filter_scores_and_topk(scores, cfg['score_thr'], cfg['nms_pre'])
        all_boxes.append(decode(head['coder'], prior[index], deltas[index]))
        all_scores.append(scores)
        all_labels.append(labels)
    boxes = np.concatenate(all_boxes)
    if head['coder']['clip_border']:
        boxes = np.minimum(np.maximum(boxes, 0), np.float32([image_hw[1], image_hw[0]] * 2))
    return boxes, np.concatenate(all_scores), np.concatenate(all_labels)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_kept: int = -1) -> np.ndarray:
    """mmcv's ``nms`` (offset 0): indices of the kept boxes, highest score first; the first ``max_kept``
    of them (all for -1), which greedy NMS finds first."""
    order = np.argsort(-scores, kind='stable')
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    suppressed = np.zeros(len(boxes), dtype=bool)
    for position, index in enumerate(order):
        if suppressed[index]:
            continue
        keep.append(index)
        if len(keep) == max_kept:
            break
        rest = order[position + 1:]
        rest = rest[~suppressed[rest]]
        width = np.maximum(np.minimum(boxes[index, 2], boxes[rest, 2]) - np.maximum(boxes[index, 0], boxes[rest, 0]),
                           0)
        height = np.maximum(np.minimum(boxes[index, 3], boxes[rest, 3]) - np.maximum(boxes[index, 1],
                                                                                     boxes[rest, 1]), 0)
        inter = width * height
        suppressed[rest[inter / (areas[index] + areas[rest] - inter) > iou_threshold]] = True
    return np.asarray(keep, dtype=np.int64)


def postprocess(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, cfg: dict) -> Detections:
    """``_bbox_post_process``: size filter, class-aware NMS (mmcv ``batched_nms`` offsets), ``max_per_img``."""
    if cfg['min_bbox_size'] >= 0:
        sizes = boxes[:, 2:] - boxes[:, :2]
        valid = (sizes > cfg['min_bbox_size']).all(-1)
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
    if len(boxes):
        nms_boxes = boxes
        if not cfg['class_agnostic']:
            nms_boxes = boxes + (labels.astype(np.float32) * (boxes.max() + np.float32(1)))[:, None]
        keep = nms(nms_boxes, scores, cfg['iou_threshold'], cfg['max_per_img'])
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    return dict(bboxes=boxes.reshape(-1, 4), scores=scores, labels=labels.astype(np.int64))


def detections_from_heads(head: dict, outputs: Sequence[np.ndarray], image_hw: Tuple[int, int]) -> Detections:
    """The detections of one image, in the pixels of the network input, from its head outputs.

    Args:
        head: The ``head`` entry of the file's metadata.
        outputs: The network file's outputs for the image, in order.
        image_hw: The prepared image's height and width (before padding to the size divisor): boxes are
            clipped to it where the box coder clips.
    """
    return postprocess(*candidates(head, outputs, image_hw), head['test_cfg'])
