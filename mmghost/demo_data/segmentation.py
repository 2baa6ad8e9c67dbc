"""A small deterministic ADE20K-layout segmentation dataset of textured regions.

Each class is a family of textures (the colours are random, so colour alone does not tell the class):
label 0 is "other" (ignored with ``reduce_zero_label`` as in ADE20K), labels 1 to 4 are the classes.
"""
import os
import os.path as osp
from typing import Callable, Dict, Tuple

import cv2
import numpy as np

from .textures import smooth_noise, texture

CLASSES = ('stripes', 'checks', 'dots', 'shape')


def _colours(rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, 3).astype(np.float32), rng.integers(0, 256, 3).astype(np.float32)


def _blend(rng: np.random.Generator, pattern: np.ndarray) -> np.ndarray:
    low, high = _colours(rng)
    return low[None, None] + pattern[..., None] * (high - low)[None, None]


def stripes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(5, 14)
    return _blend(rng, (np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period) > 0) * 1.0)


def checks(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(5, 14)
    return _blend(rng, ((xx // period + yy // period) % 2).astype(np.float32))


def dots(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = rng.uniform(7, 14)
    radius = period * rng.uniform(0.2, 0.35)
    dist = np.hypot(xx % period - period / 2, yy % period - period / 2)
    return _blend(rng, (dist < radius).astype(np.float32))


FILLS: Dict[str, Callable] = dict(stripes=stripes, checks=checks, dots=dots)


def make_sample(rng: np.random.Generator, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
    """An image (H, W, 3) BGR uint8 and its label map (H, W) uint8 in ``[0, len(CLASSES)]``.

    The image is split into smooth random regions (thresholded noise); each region gets a class
    texture or, for "other", a generic noisy texture. One to three filled shapes (class ``shape``,
    plain colour with noise) are painted on top.
    """
    image = texture(rng, height, width).astype(np.float32)  # "other"
    label = np.zeros((height, width), np.uint8)
    field = smooth_noise(rng, height, width, int(rng.integers(24, 64)))
    edges = np.quantile(field, np.sort(rng.uniform(0.15, 0.85, 2)))
    regions = np.digitize(field, edges)  # three regions
    for region in range(3):
        index = int(rng.integers(0, len(FILLS) + 1))  # 0 keeps "other"
        if index:
            fill = FILLS[CLASSES[index - 1]](rng, height, width)
            image[regions == region] = fill[regions == region]
            label[regions == region] = index
    for _ in range(int(rng.integers(1, 4))):
        mask = np.zeros((height, width), np.uint8)
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(8, max(9, width // 4))), int(rng.integers(8, max(9, height // 4))))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        colour = rng.integers(0, 256, 3).astype(np.float32)
        shade = colour[None, None] * (0.75 + 0.5 * smooth_noise(rng, height, width, 16))[..., None]
        image[mask > 0] = shade[mask > 0]
        label[mask > 0] = len(CLASSES)
    noise = rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image + noise, 0, 255).astype(np.uint8), label


def make_segmentation_dataset(root: str, num_train: int = 200, num_val: int = 40, seed: int = 0) -> None:
    """Write ``root/images/{training,validation}/*.jpg`` and ``root/annotations/.../*.png``.

    Args:
        root: Output directory (the ``ADEChallengeData2016`` level).
        num_train: Training samples. Defaults to 200.
        num_val: Validation samples. Defaults to 40.
        seed: Seed; the same seed gives the same files. Defaults to 0.
    """
    for split, count, split_seed in (('training', num_train, seed), ('validation', num_val, seed + 1)):
        rng = np.random.default_rng(split_seed)
        for kind in ('images', 'annotations'):
            os.makedirs(osp.join(root, kind, split), exist_ok=True)
        for index in range(count):
            height, width = int(rng.integers(128, 225)), int(rng.integers(128, 225))
            image, label = make_sample(rng, height, width)
            name = f'demo_{split}_{index:05d}'
            cv2.imwrite(osp.join(root, 'images', split, name + '.jpg'), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            cv2.imwrite(osp.join(root, 'annotations', split, name + '.png'), label)
