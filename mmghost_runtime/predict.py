"""Predictions of a deployed file on a BGR image, in the image's own pixels."""
from typing import Dict

import numpy as np

from .backends import DeployedModel
from .detection import detections_from_heads
from .preprocess import fit_input, normalize, prepare
from .segmentation import class_map_from_logits


def is_network(metadata: dict) -> bool:
    """Whether the file holds the network only (NumPy does pre- and post-processing), not the end-to-end
    graph."""
    return metadata.get('graph') == 'network'


def detect(model: DeployedModel, image: np.ndarray) -> Dict[str, np.ndarray]:
    """Detections of a BGR image in its own pixels: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,)."""
    metadata = model.metadata
    inputs, (w_scale, h_scale), _ = prepare(image, metadata)
    if is_network(metadata):
        outputs = model.run(normalize(inputs, metadata['network'], model.fixed_hw))
        detections = detections_from_heads(metadata['network']['head'], outputs, inputs.shape[1:3])
        boxes, scores, labels = detections['bboxes'], detections['scores'], detections['labels']
    else:
        fitted = fit_input(inputs, model.fixed_hw, metadata)
        boxes, scores, labels = (output[0] for output in model.run(fitted))
        found = labels >= 0
        boxes, scores, labels = boxes[found], scores[found], labels[found]
        if fitted.shape != inputs.shape:  # padded into a fixed-size input: keep the boxes on the prepared image
            boxes = np.minimum(boxes, np.array([inputs.shape[2], inputs.shape[1]] * 2, dtype=np.float32))
    # as mmdet's rescale: multiply by the reciprocal scale factors
    factors = np.array([1 / w_scale, 1 / h_scale, 1 / w_scale, 1 / h_scale], dtype=np.float32)
    return dict(bboxes=boxes * factors, scores=scores, labels=labels)


def network_class_map(model: DeployedModel, inputs: np.ndarray) -> np.ndarray:
    """The class map (1, H', W') of prepared (1, H, W, 3) uint8 ``inputs`` (H' >= H, W' >= W where the file's
    size is fixed), whatever graph the file holds."""
    metadata = model.metadata
    if not is_network(metadata):
        return model.run(fit_input(inputs, model.fixed_hw, metadata))[0]
    network_input = normalize(inputs, metadata['network'], model.fixed_hw)
    logits = model.run(network_input)[0]  # resized to the padded input, as mmseg does before cropping the padding
    return class_map_from_logits(metadata['network']['segmentor'], logits, network_input.shape[2:])[None]


def segment(model: DeployedModel, image: np.ndarray) -> np.ndarray:
    """The class of each pixel of a BGR image, (H, W) int64 (network output resized by nearest pixel)."""
    inputs, _, (resized_h, resized_w) = prepare(image, model.metadata)
    class_map = network_class_map(model, inputs)[0, :resized_h, :resized_w]
    height, width = image.shape[:2]
    rows = np.minimum(((np.arange(height) + 0.5) * resized_h / height).astype(np.int64), resized_h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * resized_w / width).astype(np.int64), resized_w - 1)
    return class_map[rows[:, None], cols[None, :]]
