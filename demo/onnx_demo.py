"""Run an end-to-end detector or segmentor file (``tools/deployment/export_onnx.py --part model``, an
``.onnx`` file, or its OpenVINO IR ``.xml``) on images and write them with the predictions drawn. Needs the
runtime (onnxruntime or OpenVINO), NumPy and OpenCV only.

The file's ``mmghost`` metadata says how to prepare an image (the config's test resize and pad); boxes
are mapped back to the original image, class maps are resized to it (nearest). OpenVINO runs in fp32 (its
default on CPUs with native bf16 is bf16).

Example:
    python demo/onnx_demo.py data/demo_coco/val/000001.jpg retinanet.onnx --out-dir outputs
    python demo/onnx_demo.py data/demo_coco/val/000001.jpg retinanet.xml --backend openvino
"""
import argparse
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
BACKENDS = ('onnxruntime', 'openvino')
METADATA_KEY = 'mmghost'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the predictions of an end-to-end ONNX model')
    parser.add_argument('inputs', help='an image file or a directory of images')
    parser.add_argument('model', help='.onnx file written by export_onnx.py --part model (or its OpenVINO .xml)')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime', help='the runtime that runs it')
    parser.add_argument('--threads', type=int, default=0, help='threads of the runtime (0: its default)')
    parser.add_argument('--out-dir', default='outputs', help='where to write vis/ (drawn images, PNG) and '
                        'preds/ (detections as JSON, class maps as 16-bit PNG)')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: boxes below are not drawn')
    return parser.parse_args()


class DeployedModel:
    """A model file opened with one runtime: its ``metadata`` (None for a file without it, where not
    required), its ``fixed_hw`` (H, W) input size (None where height and width are dynamic; end-to-end
    files, whose input is N, H, W, 3), and :meth:`run`."""

    metadata: Optional[dict]
    fixed_hw: Optional[Tuple[int, int]]

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        """The outputs of the file's graph for ``inputs``, (N, H, W, 3) uint8."""
        raise NotImplementedError


def _parse_metadata(text: Optional[str], path: str, required: bool) -> Optional[dict]:
    if not text and not required:
        return None
    if not text:
        raise ValueError(f'{path!r} has no mmghost metadata: write it with '
                         'tools/deployment/export_onnx.py --part model')
    return json.loads(text)


def _fixed_hw(shape: Sequence[Any]) -> Optional[Tuple[int, int]]:
    height, width = shape[1], shape[2]
    return (int(height), int(width)) if isinstance(height, int) and isinstance(width, int) else None


class OnnxRuntimeModel(DeployedModel):
    """An ``.onnx`` file in onnxruntime (CPU)."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.metadata = _parse_metadata(self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY), path,
                                        require_metadata)
        self.input_name = self.session.get_inputs()[0].name
        self.fixed_hw = _fixed_hw(self.session.get_inputs()[0].shape)

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: inputs})


class OpenVINOModel(DeployedModel):
    """An ``.onnx`` file or OpenVINO IR (``.xml``) in OpenVINO on the CPU, in fp32."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import openvino as ov
        core = ov.Core()
        model = core.read_model(path)
        # ONNX metadata is read under 'framework'; export_onnx.py --backend openvino keeps it there in the IR
        key = ['framework', METADATA_KEY]
        self.metadata = _parse_metadata(model.get_rt_info(key).astype(str) if model.has_rt_info(key) else None,
                                        path, require_metadata)
        shape = model.inputs[0].get_partial_shape()
        self.fixed_hw = (shape[1].get_length(), shape[2].get_length()) if shape.is_static else None
        config = {'INFERENCE_PRECISION_HINT': 'f32'}  # not bf16, as on CPUs with native bf16 by default
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        self.compiled = core.compile_model(model, 'CPU', config)

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        results = self.compiled(inputs)
        return [np.asarray(results[output]) for output in self.compiled.outputs]


def open_model(path: str, backend: str = 'onnxruntime', threads: int = 0,
               require_metadata: bool = True) -> DeployedModel:
    """Open a file written by ``export_onnx.py`` with ``backend`` (one of :data:`BACKENDS`); without
    ``require_metadata``, also a ``--part heads`` or ``--part backbone`` file (no metadata)."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'model file {path!r} does not exist')
    return (OnnxRuntimeModel if backend == 'onnxruntime' else OpenVINOModel)(path, threads, require_metadata)


def resized_size(width: int, height: int, scale: List[int], keep_ratio: bool) -> Tuple[int, int]:
    """mmcv ``Resize``: (w, h) = ``scale``, or with ``keep_ratio`` the largest size within it."""
    if not keep_ratio:
        return int(scale[0]), int(scale[1])
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(width * factor + 0.5), int(height * factor + 0.5)


def prepare(image: np.ndarray, metadata: dict) -> Tuple[np.ndarray, Tuple[float, float], Tuple[int, int]]:
    """The network input for a BGR image: resized and padded as the config's test pipeline does.

    Returns:
        The input (1, H, W, 3) uint8; the (w, h) scale factors of the resize; the resized (h, w).
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


def fit_input(inputs: np.ndarray, model: DeployedModel) -> np.ndarray:
    """``inputs`` padded at the bottom and right to the fixed size of a ``--static`` file (as is otherwise),
    with the test pipeline's pad value (0 without one)."""
    fixed_hw, metadata = model.fixed_hw, model.metadata
    if fixed_hw is None:
        return inputs
    if inputs.shape[1] > fixed_hw[0] or inputs.shape[2] > fixed_hw[1]:
        raise ValueError(f'the prepared image is {inputs.shape[1]}x{inputs.shape[2]}, larger than the fixed '
                         f'{fixed_hw[0]}x{fixed_hw[1]} input of the model: export it with a larger --shape '
                         'or without --static')
    value = metadata['pad']['value'] if metadata['pad'] else 0
    return pad_bottom_right(inputs[0], *fixed_hw, value)[None]


def pad_bottom_right(image: np.ndarray, height: int, width: int, value: Union[float, List[float]]) -> np.ndarray:
    """``image`` padded with ``value`` (one per channel, or one for all) to ``height`` x ``width``."""
    value = value if isinstance(value, list) else [value] * 3
    return cv2.copyMakeBorder(image, 0, height - image.shape[0], 0, width - image.shape[1], cv2.BORDER_CONSTANT,
                              value=value)


def detect(model: DeployedModel, image: np.ndarray) -> Dict[str, np.ndarray]:
    """Detections of a BGR image in its own pixels: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,)."""
    inputs, (w_scale, h_scale), _ = prepare(image, model.metadata)
    fitted = fit_input(inputs, model)
    boxes, scores, labels = (output[0] for output in model.run(fitted))
    found = labels >= 0
    if fitted.shape != inputs.shape:  # padded into a --static input: keep the boxes on the prepared image
        boxes = np.minimum(boxes, np.array([inputs.shape[2], inputs.shape[1]] * 2, dtype=np.float32))
    # as mmdet's rescale: multiply by the reciprocal scale factors
    factors = np.array([1 / w_scale, 1 / h_scale, 1 / w_scale, 1 / h_scale], dtype=np.float32)
    return dict(bboxes=boxes[found] * factors, scores=scores[found], labels=labels[found])


def segment(model: DeployedModel, image: np.ndarray) -> np.ndarray:
    """The class of each pixel of a BGR image, (H, W) int64 (network output resized by nearest pixel)."""
    inputs, _, (resized_h, resized_w) = prepare(image, model.metadata)
    class_map = model.run(fit_input(inputs, model))[0][0, :resized_h, :resized_w]
    height, width = image.shape[:2]
    rows = np.minimum(((np.arange(height) + 0.5) * resized_h / height).astype(np.int64), resized_h - 1)
    cols = np.minimum(((np.arange(width) + 0.5) * resized_w / width).astype(np.int64), resized_w - 1)
    return class_map[rows[:, None], cols[None, :]]


def colours(metadata: dict) -> np.ndarray:
    """(num_classes, 3) BGR colours: the dataset palette, else fixed pseudo-random ones."""
    if metadata['palette']:
        return np.array(metadata['palette'], dtype=np.uint8)[:, ::-1]
    return np.random.default_rng(0).integers(64, 256, (len(metadata['classes']), 3)).astype(np.uint8)


def draw_detections(image: np.ndarray, detections: Dict[str, np.ndarray], metadata: dict,
                    score_thr: float) -> np.ndarray:
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
    overlay = colours(metadata)[class_map]
    return (image * 0.5 + overlay * 0.5).round().astype(np.uint8)


def image_paths(inputs: str) -> List[str]:
    if osp.isdir(inputs):
        return sorted(osp.join(inputs, name) for name in os.listdir(inputs) if name.lower().endswith(IMAGE_SUFFIXES))
    if not osp.isfile(inputs):
        raise FileNotFoundError(f'input {inputs!r} does not exist')
    return [inputs]


def main() -> None:
    args = parse_args()
    model = open_model(args.model, args.backend, args.threads)
    metadata = model.metadata
    for folder in ('vis', 'preds'):
        os.makedirs(osp.join(args.out_dir, folder), exist_ok=True)
    for path in image_paths(args.inputs):
        image = cv2.imread(path)
        if image is None:
            raise ValueError(f'{path!r} is not an image OpenCV can read')
        name = osp.splitext(osp.basename(path))[0]
        if metadata['task'] == 'detection':
            detections = detect(model, image)
            drawn = draw_detections(image, detections, metadata, args.score_thr)
            with open(osp.join(args.out_dir, 'preds', f'{name}.json'), 'w') as f:
                json.dump({key: value.tolist() for key, value in detections.items()}, f)
        else:
            class_map = segment(model, image)
            drawn = draw_class_map(image, class_map, metadata)
            cv2.imwrite(osp.join(args.out_dir, 'preds', f'{name}.png'), class_map.astype(np.uint16))
        cv2.imwrite(osp.join(args.out_dir, 'vis', f'{name}.png'), drawn)
    print(f'drawn predictions written to {osp.join(args.out_dir, "vis")}')


if __name__ == '__main__':
    main()
