"""Detection post-processing written to trace to ONNX with dynamic batch and image size.

It reproduces mmdet 3.x's ``predict_by_feat`` (``BaseDenseHead`` for RetinaNet/RTMDet, ``YOLOV3Head``) and
``_bbox_post_process`` for a batch at once, on fixed-size tensors: candidates that mmdet would drop carry
the score -1 instead of being removed. mmdet's own prior generators and box coders do the geometry.

Semantics kept from the head's ``test_cfg``: ``score_thr`` (scores strictly above it), ``nms_pre`` (per
level for dense heads, over all levels for YOLOv3, top scores over (prior, class) pairs), ``conf_thr``
(YOLOv3 objectness), ``min_bbox_size`` (width and height strictly above it), ``nms.iou_threshold`` with
class-aware NMS by mmcv's coordinate offsets (or ``nms.class_agnostic``), and ``max_per_img``.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.models.dense_heads import YOLOV3Head
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from .nms import NonMaxSuppression

Detections = Tuple[Tensor, Tensor, Tensor]
INVALID = -1.0  # the score of a candidate that mmdet would have dropped; real scores are >= 0


def top_candidates(scores: Tensor, score_thr: float, nms_pre: int) -> Tuple[Tensor, Tensor, Tensor]:
    """mmdet's ``filter_scores_and_topk`` on a batch: the ``nms_pre`` best (prior, class) pairs above
    ``score_thr``.

    Args:
        scores: (B, N, C) class scores of N priors.
        score_thr: Pairs must score strictly above it.
        nms_pre: How many pairs to keep; <= 0 keeps all but one, as mmdet does.

    Returns:
        Scores (B, K), ``INVALID`` for pairs that do not pass (descending when ``nms_pre`` > 0); prior
        indices (B, K); labels (B, K).
    """
    num_classes = scores.shape[2]
    flat = scores.flatten(1)
    flat = torch.where(flat > score_thr, flat, torch.full_like(flat, INVALID))
    if nms_pre > 0:  # padding makes K = nms_pre whatever the number of pairs
        flat = torch.cat([flat, torch.full_like(flat[:, :1], INVALID).repeat(1, nms_pre)], 1)
        flat, index = flat.topk(nms_pre, dim=1)
        index = index.clamp(max=scores.shape[1] * num_classes - 1)
    else:  # mmdet slices [:min(nms_pre, n)] = [:-1]: all pairs above score_thr but the lowest-scoring one
        lowest = torch.where(flat > INVALID, flat, torch.full_like(flat, float('inf'))).argmin(1, keepdim=True)
        flat = flat.scatter(1, lowest, torch.full_like(lowest, INVALID, dtype=flat.dtype))
        index = torch.arange(flat.shape[1], device=flat.device)[None].expand_as(flat)
    prior_index = torch.div(index, num_classes, rounding_mode='floor')
    return flat, prior_index, index - prior_index * num_classes


def gather_rows(values: Tensor, index: Tensor) -> Tensor:
    """``values[b, index[b, k]]`` for (B, N, D) values and (B, K) indices: (B, K, D)."""
    return torch.gather(values, 1, index[..., None].expand(-1, -1, values.shape[2]))


def clip_boxes(boxes: Tensor, image_hw: Tensor) -> Tensor:
    """Clamp (..., 4) boxes to ``[0, W] x [0, H]`` of ``image_hw`` = (H, W)."""
    limits = image_hw.flip(0).repeat(2).to(boxes.dtype)
    return torch.minimum(boxes.clamp(min=0), limits)


class DetectionPostprocess(nn.Module):
    """Head outputs to ``(boxes (B, K, 4), scores (B, K), labels (B, K))``, K = ``max_per_img``.

    Rows are sorted by descending score; rows past an image's detections are padding with label -1,
    score 0 and box 0. Boxes are (x1, y1, x2, y2) in the pixels of the network input (before padding).

    Args:
        head: The detector's ``bbox_head`` (``test_cfg`` is read from it).
    """

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        if not isinstance(head, BaseDenseHead) or getattr(head, 'test_cfg', None) is None:
            raise TypeError(f'end-to-end export supports dense heads with a test_cfg (RetinaNet, RTMDet, '
                            f'YOLOv3 and the like), got {type(head).__name__}')
        cfg = head.test_cfg
        nms_cfg = cfg.get('nms', dict(type='nms', iou_threshold=0.5))
        if nms_cfg.get('type', 'nms') != 'nms':
            raise ValueError(f"test_cfg.nms.type must be 'nms' (ONNX NonMaxSuppression), got {nms_cfg['type']!r}")
        self.head = head
        self.score_thr = float(cfg.get('score_thr', 0))
        self.nms_pre = int(cfg.get('nms_pre', -1))
        self.min_bbox_size = float(cfg.get('min_bbox_size', -1))
        self.iou_threshold = float(nms_cfg['iou_threshold'])
        self.class_agnostic = bool(nms_cfg.get('class_agnostic', False))
        self.max_per_img = int(cfg['max_per_img'])

    def forward(self, head_outputs: Sequence, image_hw: Tensor) -> Detections:
        """Decode, filter and suppress.

        Args:
            head_outputs: What ``head(features)`` returns.
            image_hw: (2,) int64 tensor, the network input's height and width before padding.
        """
        if isinstance(self.head, YOLOV3Head):
            boxes, scores, labels = self.yolov3_candidates(head_outputs[0])
        else:
            boxes, scores, labels = self.dense_candidates(*head_outputs[:2], image_hw)
        return self.suppress(boxes, scores, labels)

    def dense_candidates(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                         image_hw: Tensor) -> Detections:
        """``BaseDenseHead._predict_by_feat_single`` without score factors, for a batch."""
        head = self.head
        priors = head.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores], dtype=cls_scores[0].dtype,
                                                  device=cls_scores[0].device)
        level_priors, level_preds, level_scores, level_labels = [], [], [], []
        for cls_score, bbox_pred, level_prior in zip(cls_scores, bbox_preds, priors):
            scores = cls_score.permute(0, 2, 3, 1).reshape(cls_score.shape[0], -1, head.cls_out_channels)
            scores = scores.sigmoid() if head.use_sigmoid_cls else scores.softmax(-1)[..., :-1]
            pred = bbox_pred.permute(0, 2, 3, 1).reshape(bbox_pred.shape[0], -1, head.bbox_coder.encode_size)
            scores, prior_index, labels = top_candidates(scores, self.score_thr, self.nms_pre)
            level_priors.append(get_box_tensor(level_prior)[prior_index])
            level_preds.append(gather_rows(pred, prior_index))
            level_scores.append(scores)
            level_labels.append(labels)
        priors, preds = torch.cat(level_priors, 1), torch.cat(level_preds, 1)
        boxes = get_box_tensor(head.bbox_coder.decode(priors.flatten(0, 1), preds.flatten(0, 1)))
        boxes = boxes.reshape(priors.shape[0], -1, 4)
        if getattr(head.bbox_coder, 'clip_border', True):
            boxes = clip_boxes(boxes, image_hw)
        return boxes, torch.cat(level_scores, 1), torch.cat(level_labels, 1)

    def yolov3_candidates(self, pred_maps: Sequence[Tensor]) -> Detections:
        """``YOLOV3Head.predict_by_feat`` for a batch: class scores are filtered, objectness multiplies."""
        head = self.head
        anchors = head.prior_generator.grid_priors([p.shape[-2:] for p in pred_maps], device=pred_maps[0].device)
        preds, strides = [], []
        for pred, anchor, stride in zip(pred_maps, anchors, head.featmap_strides):
            preds.append(pred.permute(0, 2, 3, 1).reshape(pred.shape[0], -1, head.num_attrib))
            strides.append(torch.full_like(get_box_tensor(anchor)[:, :1], stride))
        pred = torch.cat(preds, 1)
        anchors = torch.cat([get_box_tensor(a) for a in anchors])
        deltas = torch.cat([pred[..., :2].sigmoid(), pred[..., 2:4]], -1)
        boxes = get_box_tensor(head.bbox_coder.decode(anchors, deltas, torch.cat(strides)))
        objectness, scores = pred[..., 4].sigmoid(), pred[..., 5:].sigmoid()
        conf_thr = float(head.test_cfg.get('conf_thr', -1))
        if conf_thr > 0:
            scores = torch.where((objectness >= conf_thr)[..., None], scores, torch.full_like(scores, INVALID))
        scores, prior_index, labels = top_candidates(scores, self.score_thr, self.nms_pre)
        objectness = torch.gather(objectness, 1, prior_index)
        scores = torch.where(scores > INVALID, scores * objectness, scores)
        return gather_rows(boxes, prior_index), scores, labels

    def suppress(self, boxes: Tensor, scores: Tensor, labels: Tensor) -> Detections:
        """``_bbox_post_process``: size filter, (class-aware) NMS, best ``max_per_img`` per image."""
        valid = scores > INVALID
        if self.min_bbox_size >= 0:
            sizes = boxes[..., 2:] - boxes[..., :2]
            valid = valid & (sizes > self.min_bbox_size).all(-1)
        scores = torch.where(valid, scores, torch.full_like(scores, INVALID))
        nms_boxes = boxes
        if not self.class_agnostic:  # mmcv batched_nms: shift each class beyond the others' coordinates
            max_coordinate = torch.where(valid[..., None], boxes, torch.zeros_like(boxes)).flatten(1).amax(1)
            nms_boxes = boxes + (labels.to(boxes.dtype) * (max_coordinate[:, None] + 1))[..., None]
        selected = NonMaxSuppression.apply(nms_boxes, scores[:, None], self.max_per_img, self.iou_threshold,
                                           INVALID / 2)
        flat_index = selected[:, 0] * scores.shape[1] + selected[:, 2]
        ones = torch.ones_like(flat_index, dtype=scores.dtype)
        kept = torch.zeros_like(scores).flatten().scatter(0, flat_index, ones)
        ranked = torch.where(kept.view_as(scores) > 0, scores, torch.full_like(scores, INVALID))
        ranked = torch.cat([ranked, torch.full_like(ranked[:, :1], INVALID).repeat(1, self.max_per_img)], 1)
        ranked, index = ranked.topk(self.max_per_img, dim=1)
        found = ranked > INVALID
        index = index.clamp(max=scores.shape[1] - 1)
        boxes = torch.where(found[..., None], gather_rows(boxes, index), torch.zeros_like(boxes[:, :1]))
        labels = torch.where(found, torch.gather(labels, 1, index), torch.full_like(index, -1))
        return boxes, torch.where(found, ranked, torch.zeros_like(ranked)), labels
