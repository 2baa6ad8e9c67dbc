"""A small deterministic COCO-format detection dataset of textured shapes on textured backgrounds."""
import json
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from .textures import SHAPES, paint, shape_mask, texture


def make_image(rng: np.random.Generator) -> tuple:
    """One image (H, W, 3) BGR uint8 and its objects as ``(category_index, [x, y, w, h])``.

    1 to 5 objects of random shape class, size (8-45% of the short side), aspect ratio (0.5-2) and
    position; an object may overlap earlier ones, but stays at least half visible.
    """
    height, width = int(rng.integers(160, 257)), int(rng.integers(160, 257))
    image = texture(rng, height, width)
    visible = np.zeros((height, width), np.int32)  # index + 1 of the top object per pixel
    masks: List[np.ndarray] = []
    labels: List[int] = []
    for _ in range(int(rng.integers(1, 6))):
        for _attempt in range(20):
            radius = rng.uniform(0.04, 0.22) * min(height, width)
            aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
            size = (max(4, int(radius * np.sqrt(aspect))), max(4, int(radius / np.sqrt(aspect))))
            center = (int(rng.integers(size[0], width - size[0])), int(rng.integers(size[1], height - size[1])))
            label = int(rng.integers(len(SHAPES)))
            mask = shape_mask(rng, SHAPES[label], height, width, center, size)
            covered = [((visible == i + 1) & (mask > 0)).sum() / max(1, (visible == i + 1).sum())
                       for i in range(len(masks))]
            if mask.sum() > 0 and all(c < 0.5 for c in covered):
                break
        else:
            continue
        paint(image, mask, rng)
        visible[mask > 0] = len(masks) + 1
        masks.append(mask)
        labels.append(label)
    objects = []
    for index, label in enumerate(labels):
        ys, xs = np.nonzero(visible == index + 1)
        if len(xs):
            x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            objects.append((label, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]))
    return image, objects


def make_split(root: str, split: str, num_images: int, seed: int) -> Dict:
    """Write ``root/{split}/*.jpg`` and return the COCO dict for them."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, split), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, objects = make_image(rng)
        file_name = f'{image_id:06d}.jpg'
        cv2.imwrite(osp.join(root, split, file_name), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        images.append(dict(id=image_id, file_name=file_name, height=image.shape[0], width=image.shape[1]))
        for label, bbox in objects:
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, category_id=label + 1,
                                    bbox=bbox, area=bbox[2] * bbox[3], iscrowd=0))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(SHAPES)]
    return dict(images=images, annotations=annotations, categories=categories)


def make_detection_dataset(root: str, num_train: int = 300, num_val: int = 60, seed: int = 0) -> None:
    """Write a COCO-layout dataset: ``root/{train,val}/*.jpg`` and ``root/annotations/instances_*.json``.

    Args:
        root: Output directory.
        num_train: Training images. Defaults to 300.
        num_val: Validation images. Defaults to 60.
        seed: Seed; the same seed gives the same files. Defaults to 0.
    """
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    for split, count, split_seed in (('train', num_train, seed), ('val', num_val, seed + 1)):
        coco = make_split(root, split, count, split_seed)
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path + '.tmp', 'w') as f:
            json.dump(coco, f)
        os.replace(path + '.tmp', path)
