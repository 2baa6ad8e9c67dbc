"""Export a detector or segmentor to ONNX with dynamic batch, height and width (or a fixed input size), and
check it against PyTorch with onnxruntime, or with OpenVINO (``--backend openvino`` also writes the fp32
OpenVINO IR, ``OUT.xml`` and ``OUT.bin``, beside the ``.onnx`` file).

``--part model`` (the default) writes the whole model as one graph: uint8 BGR images (N, H, W, 3) in, at
the config's test scale; a detector returns ``boxes``, ``scores`` and ``labels`` (box decoding and NMS
inside), a segmentor the ``class_map``. ``demo/onnx_demo.py`` runs such a file without PyTorch.
``--part heads`` stops at the raw head outputs (normalised float images in), ``--part backbone`` exports
the backbone's feature maps. ``--static`` fixes the input to one image of ``--shape`` instead: onnxruntime
then folds the shape arithmetic of every resize, which makes a GhostNetV2 file faster (docs/benchmarks.md).
See docs/deployment.md.

Example:
    python tools/deployment/export_onnx.py configs/demo/retinanet_ghostnetv2_demo.py --checkpoint CKPT \\
        --fuse --out retinanet.onnx --verify
    python tools/deployment/export_onnx.py configs/rtmdet_ghostnetv2_coco.py --checkpoint CKPT --fuse \\
        --static --shape 640 640 --out rtmdet.onnx --backend openvino --verify
"""
import argparse
import importlib.util
import os.path as osp

import numpy as np
import torch
from mmengine.runner import load_checkpoint

from mmengine.config import Config

from mmghost.apis import build_model
from mmghost.deploy import (TensorOutputs, deploy_metadata, end_to_end, export_end_to_end, export_onnx,
                            export_openvino, fuse_model)
from mmghost.utils import enable_safe_checkpoint_loading


def load_runtimes():
    """``demo/onnx_demo.py``, the runtime-only module that opens a file with onnxruntime or OpenVINO."""
    path = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'demo', 'onnx_demo.py')
    spec = importlib.util.spec_from_file_location('onnx_demo', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export to ONNX (and OpenVINO IR) and check it against PyTorch')
    parser.add_argument('config', help='mmdet or mmseg config file')
    parser.add_argument('--checkpoint', help='weights of the whole model (without: random weights)')
    parser.add_argument('--part', choices=['model', 'heads', 'backbone'], default='model',
                        help='model: end to end (pre-processing, NMS); heads: raw head outputs; backbone')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='example input size for tracing and --verify (>= 64)')
    parser.add_argument('--static', action='store_true',
                        help='fix the input to batch 1 and --shape (faster; the file takes only that size)')
    parser.add_argument('--fuse', action='store_true', help='fold BatchNorm first (deploy mode)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--backend', choices=load_runtimes().BACKENDS, default='onnxruntime',
                        help='openvino: also write the fp32 OpenVINO IR (OUT.xml, OUT.bin); --verify runs it')
    parser.add_argument('--verify', action='store_true', help='compare the backend\'s outputs with PyTorch\'s')
    return parser.parse_args()


def build(args: argparse.Namespace) -> torch.nn.Module:
    model = build_model(args.config)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model = (model.backbone if args.part == 'backbone' else model).eval()
    return fuse_model(model) if args.fuse else model


def export(args: argparse.Namespace, model: torch.nn.Module) -> tuple:
    """Write the file; return the PyTorch module that it reproduces and a matching example input."""
    if args.part != 'model':
        example = torch.randn(1, 3, *args.shape)
        names = export_onnx(model, example, args.out, dynamic=not args.static)
        reference = TensorOutputs(model)
    else:
        task = 'detection' if hasattr(model, 'bbox_head') else 'segmentation'
        head = model.bbox_head if task == 'detection' else model.decode_head
        metadata = deploy_metadata(Config.fromfile(args.config), task, head.num_classes)
        names = export_end_to_end(model, args.out, metadata, example_hw=args.shape, dynamic=not args.static)
        example = torch.randint(0, 256, (1, *args.shape, 3), dtype=torch.uint8)
        reference = end_to_end(model)
    print(f'wrote {args.out} with outputs {names}')
    return reference, example


def verify(path: str, backend: str, reference: torch.nn.Module, example: torch.Tensor) -> None:
    """Exit with an error unless ``backend`` reproduces PyTorch: float outputs within 1e-4 (relative to
    values above 1), integer outputs (labels, class maps) equal on at least 99.9% of entries."""
    model = load_runtimes().open_model(path, backend, require_metadata=False)
    with torch.no_grad():
        expected = reference(example)
    expected = [t.numpy() for t in ((expected, ) if isinstance(expected, torch.Tensor) else expected)]
    actual = model.run(example.numpy())
    floats = [float((np.abs(a - e) / np.maximum(np.abs(e), 1)).max(initial=0))
              for a, e in zip(actual, expected) if e.dtype.kind == 'f']
    integers = [float((a != e).mean()) if e.size else 0.0 for a, e in zip(actual, expected) if e.dtype.kind != 'f']
    diff, mismatch = max(floats, default=0.0), max(integers, default=0.0)
    print(f'{backend} vs PyTorch: max difference {diff:.2e} over {len(floats)} float outputs, '
          f'{mismatch:.2%} of entries differ in {len(integers)} integer outputs')
    if diff > 1e-4 or mismatch > 1e-3:
        raise SystemExit(f'{backend} differs from PyTorch: {diff:.2e} > 1e-4 or {mismatch:.2%} > 0.1%')


def main() -> None:
    args = parse_args()
    enable_safe_checkpoint_loading()  # mmengine's load_checkpoint: TorchScript refused, pickles restricted
    reference, example = export(args, build(args))
    path = args.out
    if args.backend == 'openvino':
        path = osp.splitext(args.out)[0] + '.xml'
        export_openvino(args.out, path)
        print(f'wrote {path} and its .bin (OpenVINO IR, fp32)')
    if args.verify:
        verify(path, args.backend, reference, example)


if __name__ == '__main__':
    main()
