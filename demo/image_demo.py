"""Run a trained detector or segmentor on images and write them with the predictions drawn.

Example:
    python demo/image_demo.py data/demo_coco/val/000001.jpg configs/demo/retinanet_ghostnetv2_demo.py \\
        work_dirs/retinanet_ghostnetv2_demo/epoch_18.pth --out-dir outputs
"""
import argparse
import os.path as osp

import torch

from mmengine.config import Config

from mmghost.utils import enable_safe_checkpoint_loading


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the predictions of a detector or segmentor')
    parser.add_argument('inputs', help='an image file or a directory of images')
    parser.add_argument('config', help='config file (mmdet or mmseg)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs', help='where to write vis/ (drawn images) and '
                        'preds/ (detection predictions as JSON)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: boxes below are not drawn')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for path, what in ((args.inputs, 'input'), (args.checkpoint, 'checkpoint file')):
        if not osp.exists(path):
            raise FileNotFoundError(f'{what} {path!r} does not exist')
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    enable_safe_checkpoint_loading()  # the inferencers' checkpoint loading: TorchScript refused, pickles restricted
    if cfg.default_scope == 'mmdet':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(model=cfg, weights=args.checkpoint, device=args.device)
        inferencer(args.inputs, out_dir=args.out_dir, pred_score_thr=args.score_thr, no_save_pred=False)
    else:
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(model=cfg, weights=args.checkpoint, device=args.device)
        inferencer(args.inputs, out_dir=args.out_dir)
    print(f'drawn predictions written to {osp.join(args.out_dir, "vis")}')


if __name__ == '__main__':
    main()
