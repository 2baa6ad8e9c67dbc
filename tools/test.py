"""Test (and evaluate) a detector or segmentor checkpoint; the scope comes from the config.

COCO configs print the 12 COCO bbox numbers (``CocoMetric``), ADE20K configs mIoU/mAcc/aAcc and the
per-class table (``IoUMetric``).
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from cli_utils import (annotation_errors_named, check_dataset_paths, enable_tta, load_config, setup_runtime,
                       shutdown_runtime)
from mmghost.utils import enable_safe_checkpoint_loading, load_checkpoint_file


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector or segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the file with evaluation metrics')
    parser.add_argument('--out', help='detection: dump predictions to this .pkl file; segmentation: '
                        'save the predicted label maps in this directory')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='save images with drawn predictions in this directory '
                        '(inside work_dir/timestamp)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config with key=value pairs (top-level keys must exist)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--fuse-conv-bn', action='store_true', help='fold BatchNorm into the convs after '
                        'loading the checkpoint (deploy mode, faster inference)')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation: tta_model and '
                        'tta_pipeline of the config, else a horizontal flip merged as mmdet/mmseg do')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on the task's visualization hook for ``--show``/``--show-dir``."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir need default_hooks.visualization in the config')
    hook.draw, hook.interval = True, 1  # every test image (mmseg's hook defaults to every 50th)
    if args.show:
        hook.show, hook.wait_time = True, args.wait_time
    if args.show_dir and cfg.default_scope == 'mmdet':
        hook.test_out_dir = args.show_dir
    elif args.show_dir:
        cfg.visualizer.save_dir = args.show_dir


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    load_checkpoint_file(args.checkpoint, mmap=True)  # a clear error for a missing, broken or unsafe file
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg)
    if args.fuse_conv_bn:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='mmghost.FuseConvBNHook')]
    if args.out is not None and cfg.default_scope == 'mmseg':
        cfg.test_evaluator.output_dir = args.out
        cfg.test_evaluator.keep_results = True

    check_dataset_paths(cfg, ('test', ))
    setup_runtime(cfg, args.launcher)
    enable_safe_checkpoint_loading()  # mmengine's loading, whatever the config: TorchScript refused, pickles restricted
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if args.out is not None and cfg.default_scope == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out!r}: detection results are dumped to a .pkl file')
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    with annotation_errors_named():  # a malformed annotation file: name it
        runner.test()
    shutdown_runtime()


if __name__ == '__main__':
    main()
