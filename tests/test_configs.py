"""Every shipped config builds its model, and the model runs loss/predict/tensor on tiny inputs."""
import copy
import glob
import os.path as osp

import pytest
import torch
import yaml
from mmdet.testing import demo_mm_inputs
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmghost.apis import build_model

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', 'configs')
DET_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*_coco.py')))
SEG_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*_ade20k.py')))
SIZES = [(96, 128), (97, 75)]


def seg_inputs(sizes, num_classes: int):
    inputs, samples = [], []
    for height, width in sizes:
        inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_build_model_applies_overrides_without_consuming_them():
    """mmengine's merge pops ``_delete_`` from what it is given: the same overrides must work twice."""
    overrides = {'backbone': dict(_delete_=True, type='MobileNetV2', out_indices=(2, 4, 7), init_cfg=None),
                 'neck.in_channels': [32, 96, 1280], 'bbox_head.num_classes': 3}
    snapshot = copy.deepcopy(overrides)
    for _ in range(2):
        model = build_model(osp.join(CONFIG_DIR, 'retinanet_ghostnetv2_coco.py'), overrides=overrides)
        assert type(model.backbone).__name__ == 'MobileNetV2' and not hasattr(model.backbone, 'blocks')
        assert model.bbox_head.num_classes == 3 and not model.training
    assert overrides == snapshot


def test_build_model_names_a_bad_config():
    with pytest.raises(TypeError, match='cfg must be an mmengine Config or a config file path, got dict'):
        build_model(dict(model=dict(type='RetinaNet')))
    with pytest.raises(FileNotFoundError, match="'configs/nope.py' does not exist"):
        build_model('configs/nope.py')


def test_all_expected_configs_exist():
    names = {osp.basename(p) for p in DET_CONFIGS + SEG_CONFIGS}
    assert {'retinanet_ghostnetv2_coco.py', 'yolov3_ghostnetv2_320_coco.py', 'yolov3_ghostnetv2_416_coco.py',
            'rtmdet_ghostnetv2_coco.py', 'deeplabv3_ghostnetv2_ade20k.py',
            'deeplabv3_ghostnetv2_os16_ade20k.py'} <= names


def test_metafile_and_readme_list_every_config():
    with open(osp.join(CONFIG_DIR, '..', 'metafile.yml')) as f:
        listed = [model['Config'] for model in yaml.safe_load(f)['Models'] if 'Config' in model]
    with open(osp.join(CONFIG_DIR, '..', 'README.md')) as f:
        readme = f.read()
    shipped = [f'configs/{osp.basename(p)}' for p in DET_CONFIGS + SEG_CONFIGS]
    assert sorted(listed) == sorted(shipped)
    # the README table names each config, the 1.3x/1.6x RetinaNet variants as suffixes of the 1.0x row
    assert [p for p in shipped if f'`{p}`' not in readme and '-1.' not in p] == []


@pytest.mark.parametrize('path', DET_CONFIGS, ids=osp.basename)
def test_detector_runs_every_mode(path):
    model = build_model(path)
    neck_in = list(model.neck.in_channels)
    taps = list(model.backbone.out_channels)
    assert neck_in in (taps, taps[::-1]), 'neck in_channels must be the backbone taps'
    for size in SIZES:
        data = model.data_preprocessor(demo_mm_inputs(2, [(3, *size)] * 2, num_classes=80), True)
        model.train()
        total, _ = model.parse_losses(model(**data, mode='loss'))
        assert torch.isfinite(total)
        total.backward()
        last_tap = model.backbone.blocks[model.backbone.out_indices[-1]]
        assert all(p.grad is not None for p in last_tap.parameters())
        model.eval()
        with torch.no_grad():
            data = model.data_preprocessor(demo_mm_inputs(1, [(3, *size)], num_classes=80), False)
            predictions = model(**data, mode='predict')
            features = model(**data, mode='tensor')
        assert len(predictions) == 1 and predictions[0].pred_instances.bboxes.shape[-1] == 4
        assert all(torch.isfinite(t).all() for level in features for t in level)


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=osp.basename)
def test_segmentor_runs_every_mode(path):
    model = build_model(path, overrides={'data_preprocessor.size': None, 'data_preprocessor.size_divisor': 8})
    stride = model.backbone.stage_strides[-1]
    assert stride == (16 if 'os16' in path else 8)
    assert model.decode_head.in_channels == model.backbone.out_channels[model.decode_head.in_index]
    assert model.auxiliary_head.in_channels == model.backbone.out_channels[model.auxiliary_head.in_index]
    num_classes = model.decode_head.num_classes
    data = model.data_preprocessor(seg_inputs(SIZES, num_classes), True)
    model.train()
    total, log_vars = model.parse_losses(model(**data, mode='loss'))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars) and torch.isfinite(total)
    total.backward()
    assert model.backbone.conv_stem.weight.grad is not None
    model.eval()
    with torch.no_grad():
        for size in SIZES:
            data = model.data_preprocessor(seg_inputs([size], num_classes), False)
            logits = model(**data, mode='tensor')
            assert logits.shape[1] == num_classes == 150
            prediction = model(**data, mode='predict')[0]
            assert prediction.pred_sem_seg.data.shape == (1, *size)


RUNTIME_HOOKS = dict(checkpoint='mmghost.AtomicCheckpointHook', finite_loss='mmghost.FiniteLossHook',
                     resumable_randomness='mmghost.ResumableRandomnessHook',
                     safe_checkpoint_loading='mmghost.SafeCheckpointLoadingHook')
SHIPPED_CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
                         if '_base_' not in p)


@pytest.mark.parametrize('path', SHIPPED_CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_DIR))
def test_every_shipped_config_has_the_runtime_hooks_of_the_runtime_base(path):
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    assert {key: cfg.default_hooks[key]['type'] for key in RUNTIME_HOOKS if key in cfg.default_hooks} == RUNTIME_HOOKS
    assert 'mmghost' in cfg.custom_imports['imports']
    # each hook is named once: not also in custom_hooks, where it would run twice
    custom = [hook['type'] for hook in cfg.get('custom_hooks', [])]
    assert not set(custom) & set(RUNTIME_HOOKS.values())


def test_the_runtime_base_is_the_one_place_that_names_the_hooks():
    runtime_base = osp.join(CONFIG_DIR, '_base_', 'mmghost_runtime.py')
    for path in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True):
        text = open(path).read()
        for hook in RUNTIME_HOOKS.values():
            assert (hook in text) == (path == runtime_base), (path, hook)
