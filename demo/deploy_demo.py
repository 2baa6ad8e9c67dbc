"""Run a file written by ``tools/deployment/export.py`` on images and write them with the predictions drawn.
Needs the runtime (onnxruntime, OpenVINO, ncnn, MNN or LiteRT), NumPy, OpenCV and ``mmghost_runtime``
only (``pip install mmghost`` installs it; on a device, copying ``mmghost_runtime/`` beside this script does):
no PyTorch, no OpenMMLab package.

The file's ``mmghost`` metadata (in the ONNX file, or ``FILE.json`` beside an ncnn, MNN or LiteRT file)
says how to prepare an image (the config's test resize and pad) and, for a network file, how to decode
its outputs; boxes are mapped back to the original image, class maps are resized to it (nearest).
Every runtime runs in fp32.

Example:
    python demo/deploy_demo.py data/demo_coco/val/000001.jpg retinanet.onnx --out-dir outputs
    python demo/deploy_demo.py data/demo_coco/val/000001.jpg retinanet.xml --backend openvino
    python demo/deploy_demo.py data/demo_coco/val/000001.jpg retinanet.ncnn.param --backend ncnn
"""
import argparse
import json
import os
import os.path as osp
from typing import List

import cv2
import numpy as np

from mmghost_runtime import BACKENDS, detect, open_model, segment
from mmghost_runtime.drawing import draw_class_map, draw_detections

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the predictions of a deployed detector or segmentor')
    parser.add_argument('inputs', help='an image file or a directory of images')
    parser.add_argument('model', help='the file written by export.py: .onnx, .xml, .ncnn.param, .mnn or .tflite')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime', help='the runtime that runs it')
    parser.add_argument('--threads', type=int, default=0, help='threads of the runtime (0: its default)')
    parser.add_argument('--out-dir', default='outputs', help='where to write vis/ (drawn images, PNG) and '
                        'preds/ (detections as JSON, class maps as 16-bit PNG)')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: boxes below are not drawn')
    return parser.parse_args()


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
