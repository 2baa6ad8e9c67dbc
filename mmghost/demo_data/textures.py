"""Procedural backgrounds and shapes shared by the detection and segmentation demo datasets."""
from typing import Tuple

import cv2
import numpy as np

SHAPES = ('circle', 'rectangle', 'triangle', 'cross')


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid, bicubically up-sampled."""
    grid = rng.random((height // cell + 2, width // cell + 2)).astype(np.float32)
    return np.clip(cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)


def texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random colour texture (H, W, 3) uint8: noise at two scales, stripes or checks, a tint."""
    noise = 0.6 * smooth_noise(rng, height, width, int(rng.integers(8, 48))) \
        + 0.4 * smooth_noise(rng, height, width, int(rng.integers(2, 6)))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 30)
    stripes = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    if rng.random() < 0.5:
        stripes = ((xx // period + yy // period) % 2).astype(np.float32)
    pattern = (1 - (mix := rng.uniform(0.1, 0.5))) * noise + mix * stripes
    low, high = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    image = low[None, None, :] + pattern[..., None] * (high - low)[None, None, :]
    return np.clip(image, 0, 255).astype(np.uint8)


def shape_mask(rng: np.random.Generator, shape: str, height: int, width: int, center: Tuple[int, int],
               size: Tuple[int, int]) -> np.ndarray:
    """A filled binary mask (H, W) uint8 of ``shape`` with half-extents ``size`` around ``center``."""
    mask = np.zeros((height, width), np.uint8)
    (cx, cy), (rx, ry) = center, size
    if shape == 'circle':
        cv2.ellipse(mask, (cx, cy), (rx, ry), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif shape == 'rectangle':
        box = cv2.boxPoints(((cx, cy), (2 * rx, 2 * ry), float(rng.uniform(-20, 20))))
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    elif shape == 'triangle':
        apex = cx + int(rng.uniform(-0.6, 0.6) * rx)
        cv2.fillPoly(mask, [np.array([[apex, cy - ry], [cx - rx, cy + ry], [cx + rx, cy + ry]], np.int32)], 1)
    elif shape == 'cross':
        arm_x, arm_y = max(2, rx // 3), max(2, ry // 3)
        cv2.rectangle(mask, (cx - rx, cy - arm_y), (cx + rx, cy + arm_y), 1, -1)
        cv2.rectangle(mask, (cx - arm_x, cy - ry), (cx + arm_x, cy + ry), 1, -1)
    else:
        raise ValueError(f'unknown shape {shape!r}, expected one of {SHAPES}')
    return mask


def paint(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``mask`` in ``image`` with a random texture and outline it, in place."""
    height, width = mask.shape
    fill = texture(rng, height, width)
    image[mask > 0] = fill[mask > 0]
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(image, contours, -1, tuple(int(c) for c in rng.integers(0, 256, 3)), 1)
