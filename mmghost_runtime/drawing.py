"""Predictions drawn on the image."""
from typing import Dict

import cv2
import numpy as np


def colours(metadata: dict) -> np.ndarray:
    """(num_classes, 3) BGR colours: the dataset palette, else fixed pseudo-random ones."""
    if metadata['palette']:
        return np.array(metadata['palette'], dtype=np.uint8)[:, ::-1]
    return np.random.default_rng(0).integers(64, 256, (len(metadata['classes']), 3)).astype(np.uint8)


def draw_detections(image: np.ndarray, detections: Dict[str, np.ndarray], metadata: dict,
                    score_thr: float) -> np.ndarray:
    """Boxes scoring at least ``score_thr``, with class name and score above each."""
    drawn, palette = image.copy(), colours(metadata)
    for box, score, label in zip(detections['bboxes'], detections['scores'], detections['labels']):
        if score < score_thr:
            continue
        colour = tuple(int(c) for c in palette[label])
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(drawn, (x1, y1), (x2, y2), colour, 2)
        cv2.putText(drawn, f'{metadata["classes"][label]} {score:.2f}', (x1, max(y1 - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return drawn


def draw_class_map(image: np.ndarray, class_map: np.ndarray, metadata: dict) -> np.ndarray:
    """The class colours blended half and half with the image."""
    overlay = colours(metadata)[class_map]
    return (image * 0.5 + overlay * 0.5).round().astype(np.uint8)
