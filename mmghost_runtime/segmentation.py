"""Decode-head logits to a class map in NumPy, as mmseg's ``predict`` in ``whole`` mode: bilinear resize to
the network input (PyTorch's ``F.interpolate`` arithmetic, either ``align_corners``), then argmax (or
``sigmoid > threshold`` for a one-channel head)."""
from typing import Tuple

import numpy as np


def source_index(out_size: int, in_size: int, align_corners: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output row (or column): the two input rows it mixes and the weight of the second."""
    out = np.arange(out_size, dtype=np.float32)
    if align_corners:
        scale = np.float32((in_size - 1) / (out_size - 1)) if out_size > 1 else np.float32(0)
        source = out * scale
    else:
        source = np.maximum((out + np.float32(0.5)) * np.float32(in_size / out_size) - np.float32(0.5), 0)
    low = source.astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, (source - low).astype(np.float32)


def resize_bilinear(logits: np.ndarray, size: Tuple[int, int], align_corners: bool) -> np.ndarray:
    """(C, h, w) float32 resized to ``size`` (H, W)."""
    rows_low, rows_high, row_weight = source_index(size[0], logits.shape[1], align_corners)
    cols_low, cols_high, col_weight = source_index(size[1], logits.shape[2], align_corners)
    rows = (logits[:, rows_low] * (1 - row_weight)[:, None] + logits[:, rows_high] * row_weight[:, None])
    return rows[:, :, cols_low] * (1 - col_weight) + rows[:, :, cols_high] * col_weight


def class_map_from_logits(segmentor: dict, logits: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """The class of each pixel of the network input, (H, W) int64, from (1, C, h, w) decode-head logits.

    Args:
        segmentor: The ``segmentor`` entry of the file's metadata (``align_corners``, ``threshold``).
        logits: The network file's output.
        size: The network input's height and width.
    """
    resized = resize_bilinear(np.asarray(logits[0], dtype=np.float32), size, segmentor['align_corners'])
    if resized.shape[0] > 1:
        return resized.argmax(0)
    return (1 / (1 + np.exp(-resized[0])) > segmentor['threshold']).astype(np.int64)
