"""Train a detector (mmdet config) or a segmentor (mmseg config); the scope comes from the config."""
import argparse
import os

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from cli_utils import (annotation_errors_named, check_dataset_paths, enable_amp, latest_loadable_checkpoint,
                       load_config, setup_runtime, shutdown_runtime)
from mmghost.utils import enable_safe_checkpoint_loading, load_checkpoint_file


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector or segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='mixed precision: fp16 AMP on GPU, bfloat16 autocast '
                        'on CPU; an AMP wrapper already in the config is kept')
    parser.add_argument('--auto-scale-lr', action='store_true', help='enable automatically scaling LR')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the latest one in the work dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config with key=value pairs (top-level keys must exist), e.g. '
        'train_cfg.max_epochs=1 or key="[a,b]" for lists')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir)

    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError(f'--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in {args.config}')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':  # the newest complete checkpoint of the work dir; none: start afresh
        checkpoint = latest_loadable_checkpoint(cfg.work_dir)
        cfg.resume, cfg.load_from = checkpoint is not None, checkpoint
    elif args.resume is not None:
        load_checkpoint_file(args.resume, mmap=True)  # a clear error for a missing, broken or unsafe file
        cfg.resume, cfg.load_from = True, args.resume
    elif cfg.get('load_from'):
        load_checkpoint_file(cfg.load_from, mmap=True)

    check_dataset_paths(cfg, ('train', 'val') if cfg.get('val_cfg') else ('train', ))
    setup_runtime(cfg, args.launcher)
    enable_safe_checkpoint_loading()  # mmengine's loading, whatever the config: TorchScript refused, pickles restricted
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    with annotation_errors_named():  # a malformed annotation file: name it
        runner.train()
    shutdown_runtime()


if __name__ == '__main__':
    main()
