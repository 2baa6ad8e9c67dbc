"""Convert an official ``ck_ghostnetv2_*.pth.tar`` or a timm GhostNetV2 checkpoint into a backbone-only
mmghost checkpoint (``{'state_dict': ..., 'meta': ...}``), usable as ``init_cfg=dict(type='Pretrained')``.

The source is read by :func:`mmghost.utils.load_checkpoint_file` (no code runs from it); thop counters and the classification head are
dropped; a checkpoint whose shapes do not fit ``--widen-factor`` is refused, naming the first mismatching
keys. The output is written to a temporary file and renamed, so it is never left half-written.
"""
import argparse
import io
import os.path as osp
import time

import torch

from mmghost.models import GhostNetV2
from mmghost.models.backbones.weights import backbone_state_dict
from mmghost.utils import atomic_write, load_checkpoint_file
from mmghost.version import __version__


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert GhostNetV2 weights to an mmghost backbone checkpoint')
    parser.add_argument('src', help='official ck_ghostnetv2_*.pth.tar or timm checkpoint (path or URL)')
    parser.add_argument('dst', help='output .pth file')
    parser.add_argument('--widen-factor', type=float, default=1.0, help='width the checkpoint must have')
    return parser.parse_args()


def convert(src: str, dst: str, widen_factor: float) -> dict:
    """Convert ``src`` into ``dst``; return the written checkpoint."""
    backbone = GhostNetV2(widen_factor=widen_factor)
    state, ignored = backbone_state_dict(load_checkpoint_file(src), backbone)
    checkpoint = dict(
        state_dict=state,
        meta=dict(source=osp.basename(src), widen_factor=widen_factor, dropped_keys=ignored,
                  mmghost_version=__version__, time=time.strftime('%Y-%m-%d %H:%M:%S')))
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write(dst, buffer.getvalue())
    return checkpoint


def main() -> None:
    args = parse_args()
    checkpoint = convert(args.src, args.dst, args.widen_factor)
    print(f'wrote {len(checkpoint["state_dict"])} backbone tensors to {args.dst}; dropped '
          f'{len(checkpoint["meta"]["dropped_keys"])} head/thop keys')


if __name__ == '__main__':
    main()
