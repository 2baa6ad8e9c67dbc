"""Batched non-maximum suppression that exports as the ONNX ``NonMaxSuppression`` operator."""
import torch
from mmcv.ops import nms
from torch import Tensor


class NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (opset >= 10, corner boxes): eager forward with mmcv's ``nms``.

    Both run greedy NMS per image and class on the boxes whose score is above ``score_threshold``,
    suppressing a box whose IoU with a kept, higher-scoring box is above ``iou_threshold``, and keep at
    most ``max_output_boxes_per_class`` boxes per image and class, highest score first.

    Call through :meth:`apply`: ``NonMaxSuppression.apply(boxes, scores, max_output, iou_thr, score_thr)``
    with ``boxes`` (B, N, 4) as (x1, y1, x2, y2) and ``scores`` (B, C, N); it returns the kept
    (batch index, class index, box index) triples, (K, 3) int64, ordered by image, class, then descending
    score.
    """

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_output_boxes_per_class: int, iou_threshold: float,
                score_threshold: float) -> Tensor:
        selected = []
        for image in range(scores.shape[0]):
            for cls in range(scores.shape[1]):
                candidates = torch.nonzero(scores[image, cls] > score_threshold).flatten()
                _, keep = nms(boxes[image, candidates], scores[image, cls, candidates], iou_threshold)
                keep = candidates[keep[:max_output_boxes_per_class]]
                selected.append(torch.stack([torch.full_like(keep, image), torch.full_like(keep, cls), keep], 1))
        return torch.cat(selected).long() if selected else boxes.new_zeros((0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, max_output_boxes_per_class: int, iou_threshold: float,
                 score_threshold: float):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_output_boxes_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_threshold], dtype=torch.float)))
