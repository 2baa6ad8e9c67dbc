"""Images to network inputs, as the config's test pipeline and data preprocessor prepare them."""
from typing import List, Optional, Tuple, Union

import cv2
import numpy as np


def resized_size(width: int, height: int, scale: List[int], keep_ratio: bool) -> Tuple[int, int]:
    """mmcv ``Resize``: (w, h) = ``scale``, or with ``keep_ratio`` the largest size within it."""
    if not keep_ratio:
        return int(scale[0]), int(scale[1])
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(width * factor + 0.5), int(height * factor + 0.5)


def pad_bottom_right(image: np.ndarray, height: int, width: int, value: Union[float, List[float]]) -> np.ndarray:
    """``image`` (H, W, 3) padded with ``value`` (one per channel, or one for all) to ``height`` x ``width``."""
    value = value if isinstance(value, list) else [value] * 3
    return cv2.copyMakeBorder(image, 0, height - image.shape[0], 0, width - image.shape[1], cv2.BORDER_CONSTANT,
                              value=value)


def prepare(image: np.ndarray, metadata: dict) -> Tuple[np.ndarray, Tuple[float, float], Tuple[int, int]]:
    """The test pipeline on a BGR image: resized and padded as the metadata's ``resize`` and ``pad`` say.

    Returns:
        The image (1, H, W, 3) uint8; the (w, h) scale factors of the resize; the resized (h, w).
    """
    height, width = image.shape[:2]
    resize, pad = metadata['resize'], metadata['pad']
    if resize:
        image = cv2.resize(image, resized_size(width, height, **resize), interpolation=cv2.INTER_LINEAR)
    resized_hw = image.shape[:2]
    if pad:
        if pad['size']:
            target_w, target_h = pad['size']
        else:
            divisor = pad['size_divisor']
            target_w, target_h = (-(-n // divisor) * divisor for n in (resized_hw[1], resized_hw[0]))
        image = pad_bottom_right(image, target_h, target_w, pad['value'])
    return np.ascontiguousarray(image[None]), (resized_hw[1] / width, resized_hw[0] / height), resized_hw


def check_fits(height: int, width: int, fixed_hw: Tuple[int, int]) -> None:
    if height > fixed_hw[0] or width > fixed_hw[1]:
        raise ValueError(f'the prepared image is {height}x{width}, larger than the fixed {fixed_hw[0]}x{fixed_hw[1]} '
                         'input of the model: export it with a larger --shape (or without --static)')


def fit_input(inputs: np.ndarray, fixed_hw: Optional[Tuple[int, int]], metadata: dict) -> np.ndarray:
    """``inputs`` (1, H, W, 3) padded at the bottom and right to the ``fixed_hw`` of a fixed-size end-to-end
    file, with the test pipeline's pad value (0 without one); as it is where the file takes any size."""
    if fixed_hw is None:
        return inputs
    check_fits(inputs.shape[1], inputs.shape[2], fixed_hw)
    value = metadata['pad']['value'] if metadata['pad'] else 0
    return pad_bottom_right(inputs[0], *fixed_hw, value)[None]


def normalize(inputs: np.ndarray, network: dict, fixed_hw: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """The data preprocessor of a network file: (1, H, W, 3) uint8 BGR -> (1, 3, H', W') float32.

    Channel flip (``bgr_to_rgb``), ``(x - mean) / std``, then padding at the bottom and right with
    ``pad_value`` to a multiple of ``size_divisor`` (mmengine's ``ImgDataPreprocessor`` order), or to the
    ``fixed_hw`` of a fixed-size file.
    """
    x = inputs[0, :, :, ::-1] if network['bgr_to_rgb'] else inputs[0]
    x = (x.astype(np.float32) - np.float32(network['mean'])) / np.float32(network['std'])
    divisor = network['size_divisor']
    height, width = x.shape[:2]
    padded_h, padded_w = -(-height // divisor) * divisor, -(-width // divisor) * divisor
    if fixed_hw is not None:
        check_fits(height, width, fixed_hw)
        padded_h, padded_w = fixed_hw
    if (padded_h, padded_w) != (height, width):
        x = np.pad(x, ((0, padded_h - height), (0, padded_w - width), (0, 0)), constant_values=network['pad_value'])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
