"""One-graph models: uint8 BGR images in; detections, or a class map, out.

The graph takes what OpenCV reads, ``images`` (N, H, W, 3) uint8 BGR, already resized by the caller to the
config's test scale (and padded, where the test pipeline pads). Inside it does what the model's data
preprocessor does at test time (channel order, mean/std, padding to the size divisor), runs the model
and post-processes:

- a detector returns ``boxes`` (N, K, 4) float32 (x1, y1, x2, y2 in input pixels), ``scores`` (N, K) and
  ``labels`` (N, K) int64, K = ``test_cfg.max_per_img``, best first; rows past an image's detections
  have label -1 and score 0 (see :class:`DetectionPostprocess`);
- a segmentor returns ``class_map`` (N, H, W) int64, the class of each input pixel.
"""
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.onnx.operators import shape_as_tensor


class ImagePreprocess(nn.Module):
    """A detector's or segmentor's test-time data preprocessor as graph operations.

    (N, H, W, 3) uint8 -> (N, 3, H', W') float32: channel flip (``bgr_to_rgb``), ``(x - mean) / std``,
    then padding at the bottom and right to a multiple of ``pad_size_divisor`` with ``pad_value``, the
    order of mmengine's ``ImgDataPreprocessor`` and mmseg's ``SegDataPreProcessor``.

    Args:
        preprocessor: The model's ``data_preprocessor``.
    """

    def __init__(self, preprocessor: nn.Module) -> None:
        super().__init__()
        if getattr(preprocessor, 'test_cfg', None):
            raise ValueError(f'data_preprocessor.test_cfg={preprocessor.test_cfg!r} (test-time padding of '
                             'segmentors) is not supported by the end-to-end export')
        self.flip = bool(getattr(preprocessor, '_channel_conversion', getattr(preprocessor, 'channel_conversion',
                                                                               False)))
        normalize = getattr(preprocessor, '_enable_normalize', False)
        self.register_buffer('mean', preprocessor.mean.clone() if normalize else torch.zeros(3, 1, 1), False)
        self.register_buffer('std', preprocessor.std.clone() if normalize else torch.ones(3, 1, 1), False)
        self.divisor = int(getattr(preprocessor, 'pad_size_divisor', 1))
        self.pad_value = float(getattr(preprocessor, 'pad_value', 0))

    def forward(self, images: Tensor) -> Tensor:
        x = images.permute(0, 3, 1, 2)
        if self.flip:
            x = x.flip(1)
        x = (x.float() - self.mean) / self.std
        if self.divisor > 1:
            height, width = x.shape[2], x.shape[3]
            x = F.pad(x, (0, (self.divisor - width % self.divisor) % self.divisor, 0,
                          (self.divisor - height % self.divisor) % self.divisor), value=self.pad_value)
        return x


class EndToEndDetector(nn.Module):
    """An mmdet single-stage detector with preprocessing and post-processing (NMS) in the graph.

    Args:
        detector: The mmdet detector (``extract_feat`` and a dense ``bbox_head``), in eval mode.
    """

    def __init__(self, detector: nn.Module) -> None:
        from .detection_postprocess import DetectionPostprocess  # imports mmdet, which segmentors do not need
        super().__init__()
        self.preprocess = ImagePreprocess(detector.data_preprocessor)
        self.detector = detector
        self.postprocess = DetectionPostprocess(detector.bbox_head)

    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        features = self.detector.extract_feat(self.preprocess(images))
        return self.postprocess(self.detector.bbox_head(features), shape_as_tensor(images)[1:3])


class EndToEndSegmentor(nn.Module):
    """An mmseg encoder-decoder whose output is the class of every input pixel.

    As mmseg's ``predict`` in ``whole`` mode: decode-head logits, bilinear resize to the input size, then
    argmax (or ``sigmoid > threshold`` for a one-channel head).

    Args:
        segmentor: The mmseg segmentor (``extract_feat`` and ``decode_head``), in eval mode.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        mode = segmentor.test_cfg.get('mode', 'whole') if segmentor.test_cfg else 'whole'
        if mode != 'whole':
            raise ValueError(f"end-to-end export supports test_cfg.mode='whole', got {mode!r}")
        self.preprocess = ImagePreprocess(segmentor.data_preprocessor)
        self.segmentor = segmentor

    def forward(self, images: Tensor) -> Tensor:
        head = self.segmentor.decode_head
        logits = head(self.segmentor.extract_feat(self.preprocess(images)))
        logits = F.interpolate(logits, size=(images.shape[1], images.shape[2]), mode='bilinear',
                               align_corners=head.align_corners)
        if logits.shape[1] > 1:
            return logits.argmax(1)
        return (logits[:, 0].sigmoid() > head.threshold).long()


def end_to_end(model: nn.Module) -> Union[EndToEndDetector, EndToEndSegmentor]:
    """Wrap an mmdet detector (with ``bbox_head``) or an mmseg segmentor (with ``decode_head``)."""
    if hasattr(model, 'bbox_head'):
        return EndToEndDetector(model).eval()
    if hasattr(model, 'decode_head'):
        return EndToEndSegmentor(model).eval()
    raise TypeError(f'end-to-end export needs an mmdet detector with bbox_head or an mmseg segmentor with '
                    f'decode_head, got {type(model).__name__}')
