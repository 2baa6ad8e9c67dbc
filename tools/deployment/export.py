"""Export a detector, segmentor or backbone for one runtime and check the file against PyTorch.

Backends (``--backend``) and what they get:

- ``onnxruntime`` (default): ``OUT`` (``.onnx``); ``openvino``: also the fp32 OpenVINO IR ``OUT.xml`` and
  ``.bin`` beside it. ``--part model`` (the default) writes the whole model as one graph: uint8 BGR images
  (N, H, W, 3) in, at the config's test scale; a detector returns ``boxes``, ``scores`` and ``labels`` (box
  decoding and NMS inside), a segmentor the ``class_map``. ``--static`` fixes the input to one image of
  ``--shape``.
- ``ncnn`` (``OUT.ncnn.param`` and ``.ncnn.bin``, by pnnx), ``mnn`` (``OUT.mnn``, from ``OUT``) and
  ``litert`` (``OUT.tflite``, by litert-torch, fixed to ``--shape``): these runtimes run no ONNX NMS, so the
  file holds the network (normalised float images (1, 3, H, W) in, raw head outputs or decode-head logits
  out), and ``mmghost_runtime`` decodes, suppresses and resizes in NumPy. Their metadata is in ``FILE.json``
  beside the file. ncnn and MNN files take any size.

The onnxruntime file holds the network after ``mmghost.deploy.rewrite_for_onnxruntime``: BatchNorm folded
and the Ghost modules and SE rewritten into a graph that computes the same (to float rounding) and that
onnxruntime runs faster; ``--no-rewrite`` writes the plain graph.

``--part heads`` writes that network file for onnxruntime and OpenVINO too; ``--part backbone`` the
backbone's feature maps (no metadata). ``demo/deploy_demo.py`` runs every file but backbones without
PyTorch. Every file is fp32. ``--verify`` compares the file's outputs with PyTorch's at ``--shape`` and, where
the file takes any size, at a second size. See docs/deployment.md.

Example:
    python tools/deployment/export.py configs/demo/retinanet_ghostnetv2_demo.py --checkpoint CKPT \\
        --fuse --out retinanet.onnx --verify
    python tools/deployment/export.py configs/rtmdet_ghostnetv2_coco.py --checkpoint CKPT --fuse \\
        --static --shape 640 640 --out rtmdet.onnx --backend openvino --verify
    python tools/deployment/export.py configs/demo/retinanet_ghostnetv2_demo.py --checkpoint CKPT \\
        --fuse --shape 320 320 --out retinanet.onnx --backend ncnn --verify
"""
import argparse
import os.path as osp
from typing import Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmghost.apis import build_model
from mmghost.deploy import (REWRITTEN_BACKENDS, TensorOutputs, backend_path, end_to_end, export_end_to_end,
                            export_network, export_openvino, fuse_model, model_metadata, rewrite_for_onnxruntime,
                            second_shape)
from mmghost.utils import enable_safe_checkpoint_loading
from mmghost_runtime import BACKENDS, DeployedModel, open_model
from mmghost_runtime.metadata import sidecar_path

END_TO_END_BACKENDS = ('onnxruntime', 'openvino')  # the runtimes that run ONNX NonMaxSuppression
DYNAMIC_BACKENDS = ('onnxruntime', 'openvino', 'ncnn', 'mnn')  # files that take any input size


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export for a runtime and check the file against PyTorch')
    parser.add_argument('config', help='mmdet or mmseg config file')
    parser.add_argument('--checkpoint', help='weights of the whole model (without: random weights)')
    parser.add_argument('--part', choices=['model', 'heads', 'backbone'], default='model',
                        help='model: end to end where the runtime runs NMS, else the network; heads: the '
                        'network (raw head outputs, decoded in NumPy); backbone: its feature maps')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='example input size for tracing and --verify (>= 64); the size of litert files')
    parser.add_argument('--static', action='store_true', help='onnxruntime/openvino: fix the input to batch 1 '
                        'and --shape (faster; the file takes only that size)')
    parser.add_argument('--fuse', action='store_true', help='fold BatchNorm first (deploy mode)')
    parser.add_argument('--no-rewrite', action='store_true', help='onnxruntime: export the plain graph, '
                        'not the (exact, faster) rewritten one')
    parser.add_argument('--out', required=True, help='the .onnx file to write; the other backends\' files are '
                        'named after it (OUT.xml, OUT.ncnn.param, OUT.mnn, OUT.tflite)')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime', help='the runtime to export for')
    parser.add_argument('--verify', action='store_true', help='compare the file\'s outputs with PyTorch\'s')
    args = parser.parse_args()
    if args.static and args.backend not in END_TO_END_BACKENDS:
        parser.error(f'--static is for onnxruntime and openvino: {args.backend} files '
                     f'{"take any size" if args.backend in DYNAMIC_BACKENDS else "are fixed to --shape"}')
    if args.no_rewrite and args.backend not in REWRITTEN_BACKENDS:
        parser.error(f'--no-rewrite is for {", ".join(REWRITTEN_BACKENDS)}: {args.backend} files are not rewritten')
    if min(args.shape) < 64:
        parser.error(f'--shape must be at least 64 64, got {args.shape[0]} {args.shape[1]}')
    return args


def build(args: argparse.Namespace) -> torch.nn.Module:
    model = build_model(args.config)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model = (model.backbone if args.part == 'backbone' else model).eval()
    return fuse_model(model) if args.fuse else model


def export(args: argparse.Namespace, model: torch.nn.Module) -> Tuple[torch.nn.Module, bool]:
    """Write the file; return the PyTorch module that it reproduces and whether it is end to end."""
    path = backend_path(args.out, args.backend)
    if args.part == 'model' and args.backend in END_TO_END_BACKENDS:
        metadata = model_metadata(Config.fromfile(args.config), model)
        rewrite = args.backend in REWRITTEN_BACKENDS and not args.no_rewrite
        # --verify compares the file with the model itself
        exported = rewrite_for_onnxruntime(model, static=args.static) if rewrite else model
        export_end_to_end(exported, args.out, metadata, example_hw=args.shape, dynamic=not args.static)
        if args.backend == 'openvino':
            export_openvino(args.out, path)
        reference, end_to_end_graph = end_to_end(model), True
    else:
        if args.part == 'model':
            print(f'{args.backend} runs no ONNX NMS: writing the network; mmghost_runtime decodes its outputs')
        cfg = None if args.part == 'backbone' else Config.fromfile(args.config)
        export_network(model, cfg, args.backend, args.out, args.shape, dynamic=not args.static,
                       rewrite=not args.no_rewrite)
        reference, end_to_end_graph = TensorOutputs(model), False
    print(f'wrote {path}' + (f' and {sidecar_path(path)}' if osp.isfile(sidecar_path(path)) else ''))
    return reference, end_to_end_graph


def verify(model: DeployedModel, backend: str, reference: torch.nn.Module, example: torch.Tensor) -> None:
    """Exit with an error unless the file opened by ``backend`` reproduces PyTorch on ``example``: float outputs
    within 1e-4 (relative to values above 1), integer outputs (labels, class maps) equal on at least 99.9% of
    entries."""
    with torch.no_grad():
        expected = reference(example)
    expected = [t.numpy() for t in ((expected, ) if isinstance(expected, torch.Tensor) else expected)]
    actual = model.run(example.numpy())
    if len(actual) != len(expected) or any(a.shape != e.shape for a, e in zip(actual, expected)):
        raise SystemExit(f'{backend} returns shapes {[a.shape for a in actual]}, PyTorch '
                         f'{[e.shape for e in expected]}')
    floats = [float((np.abs(a - e) / np.maximum(np.abs(e), 1)).max(initial=0))
              for a, e in zip(actual, expected) if e.dtype.kind == 'f']
    integers = [float((a != e).mean()) if e.size else 0.0 for a, e in zip(actual, expected) if e.dtype.kind != 'f']
    diff, mismatch = max(floats, default=0.0), max(integers, default=0.0)
    size = 'x'.join(str(n) for n in example.shape)
    print(f'{backend} vs PyTorch at {size}: max difference {diff:.2e} over {len(floats)} float outputs, '
          f'{mismatch:.2%} of entries differ in {len(integers)} integer outputs')
    if diff > 1e-4 or mismatch > 1e-3:
        raise SystemExit(f'{backend} differs from PyTorch at {size}: {diff:.2e} > 1e-4 or {mismatch:.2%} > 0.1%')


def main() -> None:
    args = parse_args()
    enable_safe_checkpoint_loading()  # mmengine's load_checkpoint: TorchScript refused, pickles restricted
    reference, end_to_end_graph = export(args, build(args))
    if not args.verify:
        return
    shapes = [tuple(args.shape)]
    if args.backend in DYNAMIC_BACKENDS and not args.static:
        shapes.append(second_shape(args.shape))
    deployed = open_model(backend_path(args.out, args.backend), args.backend, require_metadata=False)
    for height, width in shapes:
        example = (torch.randint(0, 256, (1, height, width, 3), dtype=torch.uint8) if end_to_end_graph
                   else torch.randn(1, 3, height, width))
        verify(deployed, args.backend, reference, example)


if __name__ == '__main__':
    main()
