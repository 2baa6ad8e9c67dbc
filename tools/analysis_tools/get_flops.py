"""Complexity of a config's model (or its backbone): parameters and multiply-adds under two conventions.

- ``mmengine``: mmengine's FlopAnalyzer (a multiply-add counts 1; BatchNorm counted), plus one op per
  output element for the DFC branch's 2x2 average pooling, sigmoid, up-sampling and gating multiply, and
  SE's hard-sigmoid and multiply, which mmengine would otherwise skip.
- ``paper``: Conv2d and Linear multiply-adds only, the GhostNet papers' convention (167M for 1.0x at
  224x224 including the ImageNet head, printed for ``--part backbone``).

A config of the installed mmdet or mmseg is named as in a ``_base_`` line (``mmdet::PATH``,
``mmseg::PATH``), so that a peer model is measured by the same code.

Example:
    python tools/analysis_tools/get_flops.py configs/retinanet_ghostnetv2_coco.py --shape 800 1333
    python tools/analysis_tools/get_flops.py \
        mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py --shape 512
    python tools/analysis_tools/get_flops.py configs/deeplabv3_ghostnetv2_ade20k.py --shape 512 \
        --cfg-options "model.backbone.out_indices=(6,9)" model.decode_head.in_channels=960
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

from mmghost.analysis import conv_linear_macs, flop_analyzer
from mmghost.apis import build_model, resolve_config
from mmghost.compat import format_size
from mmghost.deploy import TensorOutputs

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/, for cli_utils
from cli_utils import load_config  # noqa: E402

IMAGENET_HEAD_HIDDEN, IMAGENET_CLASSES = 1280, 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a model')
    parser.add_argument('config', help='mmdet or mmseg config file, or mmdet::PATH / mmseg::PATH for a '
                        'config of the installed package')
    parser.add_argument('--shape', type=int, nargs='+', default=[224, 224], help='input size: H W or S')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config with key=value pairs (top-level keys must exist)')
    args = parser.parse_args()
    if len(args.shape) not in (1, 2) or min(args.shape) < 32:
        parser.error(f'--shape takes H W or one size, each >= 32; got {args.shape}')
    return args


def main() -> None:
    args = parse_args()
    height, width = args.shape * 2 if len(args.shape) == 1 else args.shape
    model = build_model(load_config(resolve_config(args.config), args.cfg_options))
    model = model.backbone if args.part == 'backbone' else model
    wrapped = TensorOutputs(model).eval()
    images = torch.randn(1, 3, height, width)
    with torch.no_grad():
        mmengine_flops = flop_analyzer(wrapped, (images, )).total()
    paper_macs = conv_linear_macs(model, lambda: wrapped(images))
    params = sum(p.numel() for p in model.parameters())
    print(f'{args.part} of {args.config} at {height}x{width}')
    print(f'  parameters:                             {format_size(params)} ({params:,})')
    print(f'  FLOPs (mmengine + DFC element-wise):    {format_size(mmengine_flops)}')
    print(f'  MACs (Conv2d + Linear, paper):          {format_size(paper_macs)} ({paper_macs:,})')
    if args.part == 'backbone' and hasattr(model, 'stage_channels'):
        head = model.stage_channels[-1] * IMAGENET_HEAD_HIDDEN + IMAGENET_HEAD_HIDDEN * IMAGENET_CLASSES
        print(f'  MACs with the ImageNet head (paper):    {format_size(paper_macs + head)} '
              f'({paper_macs + head:,})')


if __name__ == '__main__':
    main()
