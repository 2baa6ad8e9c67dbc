"""configs/rtmdet_ghostnetv2_coco.py: RTMDet-tiny's neck and head on GhostNetV2, the metafile's figures, and
a few iterations of training on the demo data with the real tools (Mosaic/MixUp, EMA, pipeline switch)."""
import re
from pathlib import Path

import mmdet
import pytest
import torch
import yaml
from mmengine.config import Config

from mmghost.analysis import conv_linear_macs
from mmghost.apis import build_model
from mmghost.demo_data import make_detection_dataset
from mmghost.deploy import TensorOutputs
from mmghost.utils import load_checkpoint_file
from tools_helpers import ROOT, run_tool

CONFIG = ROOT / 'configs' / 'rtmdet_ghostnetv2_coco.py'
DEMO = ROOT / 'configs' / 'demo' / 'rtmdet_ghostnetv2_demo.py'


def peer_config() -> str:
    return str(Path(mmdet.__file__).parent / '.mim' / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py')


def without_scope(node):
    """A config tree without the ``_scope_`` keys that inheriting through ``mmdet::`` adds."""
    if isinstance(node, dict):
        return {k: without_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [without_scope(v) for v in node]
    return node


def test_only_the_backbone_and_its_inputs_differ_from_rtmdet_tiny():
    ours, peer = Config.fromfile(str(CONFIG)), Config.fromfile(peer_config())
    for key in ('neck', 'bbox_head', 'train_cfg', 'test_cfg'):
        mine, theirs = without_scope(ours.model[key].to_dict()), without_scope(peer.model[key].to_dict())
        mine.pop('in_channels', None), theirs.pop('in_channels', None)
        assert mine == theirs, key
    assert ours.model.bbox_head.in_channels == peer.model.bbox_head.in_channels == 96
    assert ours.model.backbone.norm_cfg == peer.model.backbone.norm_cfg == dict(type='SyncBN')
    for key in ('train_pipeline', 'train_pipeline_stage2', 'test_pipeline', 'optim_wrapper', 'param_scheduler'):
        assert without_scope(ours[key]) == without_scope(peer[key]), key
    assert [h['type'] for h in ours.custom_hooks] == ['EMAHook', 'PipelineSwitchHook']


def test_taps_are_the_stage_ends_at_strides_8_16_32():
    model = build_model(str(CONFIG))
    assert model.backbone.out_indices == (4, 6, 8)
    assert [model.backbone.stage_strides[i] for i in model.backbone.out_indices] == [8, 16, 32]
    assert list(model.neck.in_channels) == list(model.backbone.out_channels) == [40, 112, 160]
    images = torch.randn(1, 3, 160, 224)
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(images)
    assert [tuple(s.shape[-2:]) for s in cls_scores] == [(20, 28), (10, 14), (5, 7)]
    assert all(s.shape[1] == 80 for s in cls_scores) and all(b.shape[1] == 4 for b in bbox_preds)


def metafile_figures(peer: bool) -> tuple:
    """(params in M, Conv2d + Linear GMACs at 640x640) that metafile.yml states for this config or its peer."""
    entry = next(m for m in yaml.safe_load((ROOT / 'metafile.yml').read_text())['Models']
                 if m['Name'] == 'rtmdet_ghostnetv2_coco')['Metadata']
    prefix = 'Peer ' if peer else ''
    params, macs = (str(entry[f'{prefix}{key}']).split(': ')[-1] for key in ('Parameters', 'Paper MACs (640x640)'))
    return float(params.rstrip('M')), float(macs.rstrip('G'))


@pytest.mark.parametrize('peer', [False, True], ids=['this config', 'RTMDet-tiny'])
def test_metafile_figures_are_what_the_models_measure(peer):
    model = build_model(peer_config() if peer else str(CONFIG))
    wrapped = TensorOutputs(model)
    macs = conv_linear_macs(model, lambda: wrapped(torch.randn(1, 3, 640, 640)))
    params = sum(p.numel() for p in model.parameters())
    assert metafile_figures(peer) == (round(params / 1e6, 3), round(macs / 1e9, 3))


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    path = tmp_path_factory.mktemp('rtmdet')
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=16, num_val=8, seed=3)
    return path


def test_demo_config_trains_switches_pipeline_and_evaluates(workspace):
    """Two epochs of two iterations; the stage-2 pipeline takes over for the second; COCO evaluation."""
    work_dir = workspace / 'work_dirs' / 'rtmdet'
    result = run_tool([ROOT / 'tools' / 'train.py', DEMO, '--work-dir', work_dir, '--cfg-options',
                       'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'custom_hooks.1.switch_epoch=1',
                       'default_hooks.logger.interval=1', 'model.test_cfg.score_thr=0'], workspace)
    log = result.stdout + result.stderr
    losses = [float(x) for x in re.findall(r' loss: ([-\d.naif]+)', log)]
    assert losses and all(torch.isfinite(torch.tensor(losses))), log[-3000:]
    assert 'Switch pipeline now!' in log
    assert 'coco/bbox_mAP_50' in log
    checkpoint = load_checkpoint_file(str(work_dir / 'epoch_2.pth'))
    assert checkpoint['meta']['iter'] == 4
    averaged = {k[len('module.'):] for k in checkpoint['ema_state_dict'] if k.startswith('module.')}
    assert averaged == set(checkpoint['state_dict'])  # EMAHook's copy of every weight and buffer
