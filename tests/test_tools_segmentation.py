"""Segmentation end to end on a small ADE20K-layout demo dataset: train, test (IoUMetric), CPU DDP."""
import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from mmghost.demo_data import make_segmentation_dataset
from tools_helpers import ROOT, free_port, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'deeplabv3_ghostnetv2_demo.py'
TRAIN, TEST = ROOT / 'tools' / 'train.py', ROOT / 'tools' / 'test.py'
SHORT = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
         'train_dataloader.batch_size=2']


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    path = tmp_path_factory.mktemp('seg')
    make_segmentation_dataset(str(path / 'data' / 'demo_ade' / 'ADEChallengeData2016'), num_train=8, num_val=4, seed=3)
    return path


def test_train_then_test_reports_iou_and_draws_overlays(workspace):
    work_dir = workspace / 'work_dirs' / 'seg'
    run_tool([TRAIN, CONFIG, '--work-dir', work_dir, '--cfg-options', *SHORT], workspace)
    checkpoint = work_dir / 'iter_4.pth'
    assert checkpoint.is_file()
    result = run_tool([TEST, CONFIG, checkpoint, '--work-dir', workspace / 'seg_test', '--show-dir',
                       workspace / 'overlays', '--out', workspace / 'label_maps'], workspace)
    log = result.stdout + result.stderr
    assert 'per class results' in log and all(name in log for name in ('stripes', 'checks', 'dots', 'shape'))
    assert 'mIoU' in log and 'mAcc' in log and 'aAcc' in log
    assert len(list((workspace / 'overlays').rglob('*.png'))) == 4
    assert len(list((workspace / 'label_maps').glob('*.png'))) == 4


def test_two_process_cpu_training_replaces_sync_bn(workspace):
    sync_bn = [f'model.{part}.norm_cfg.type=SyncBN' for part in ('backbone', 'decode_head', 'auxiliary_head')]
    result = run_tool([ROOT / 'tools' / 'dist_train.sh', CONFIG, 2, '--work-dir', workspace / 'work_dirs' / 'ddp',
                       '--cfg-options', *SHORT, *sync_bn], workspace, env=dict(PORT=str(free_port())))
    log = result.stdout + result.stderr
    assert 'No GPU found: replaced 3 SyncBN config(s) by BN' in log
    assert 'parameters are bit-identical on all 2 rank(s)' in log


def test_iou_metric_on_a_hand_checked_prediction():
    """2 classes on a 2x4 map with one ignored pixel; IoU and accuracy counted by hand below."""
    gt = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 0]])
    # class 0: gt {00, 01, 10}, pred {00, 10, 11} (13 is ignored) -> intersection 2, union 4 -> IoU 50%
    # class 1: gt {02, 03, 11, 12}, pred {01, 02, 03, 12} -> intersection 3, union 5 -> IoU 60%
    # accuracy: class 0 2/3, class 1 3/4; overall 5/7 valid pixels
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=gt[None])
    sample.pred_sem_seg = PixelData(data=pred[None])
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process([], [sample.to_dict()])
    results = metric.compute_metrics(metric.results)
    assert results['mIoU'] == pytest.approx(55.0)
    assert results['mAcc'] == pytest.approx(np.round((2 / 3 + 3 / 4) / 2 * 100, 2))
    assert results['aAcc'] == pytest.approx(np.round(5 / 7 * 100, 2))
