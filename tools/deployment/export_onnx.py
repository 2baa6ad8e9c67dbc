"""Export a backbone, detector (up to its raw head outputs) or segmentor (decode-head logits) to ONNX
with dynamic batch, height and width, optionally BN-folded, and check it against PyTorch with onnxruntime.

Example:
    python tools/deployment/export_onnx.py configs/retinanet_ghostnetv2_coco.py --checkpoint CKPT \\
        --part backbone --fuse --out ghostnetv2.onnx --verify
"""
import argparse

import torch
from mmengine.runner import load_checkpoint

from mmghost.deploy import TensorOutputs, export_onnx, fuse_model
from mmghost.engine import build_model, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export to ONNX with dynamic height and width')
    parser.add_argument('config', help='mmdet or mmseg config file')
    parser.add_argument('--checkpoint', help='weights of the whole model (without: random weights)')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model', help='what to export')
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'),
                        help='example input size (>= 64)')
    parser.add_argument('--fuse', action='store_true', help='fold BatchNorm first (deploy mode)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch')
    return parser.parse_args()


def build(args: argparse.Namespace) -> torch.nn.Module:
    model = build_model(load_config(args.config))
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model = (model.backbone if args.part == 'backbone' else model).eval()
    return fuse_model(model) if args.fuse else model


def main() -> None:
    args = parse_args()
    model = build(args)
    example = torch.randn(1, 3, *args.shape)
    names = export_onnx(model, example, args.out)
    print(f'wrote {args.out} with outputs {names}')
    if args.verify:
        import onnxruntime as ort
        session = ort.InferenceSession(args.out, providers=['CPUExecutionProvider'])
        with torch.no_grad():
            expected = TensorOutputs(model)(example)
        actual = session.run(None, {'images': example.numpy()})
        diff = max(float((torch.from_numpy(a) - e).abs().max()) for a, e in zip(actual, expected))
        print(f'onnxruntime vs PyTorch: max abs difference {diff:.2e} over {len(actual)} outputs')
        if diff > 1e-4:
            raise SystemExit(f'onnxruntime differs from PyTorch by {diff:.2e} > 1e-4')


if __name__ == '__main__':
    main()
