"""Every shipped config builds (random init, nothing downloaded) and predicts a non-square image."""
from pathlib import Path

import pytest
import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmseg.structures import SegDataSample

from mmghost.apis import build_model

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
CONFIGS = sorted([*CONFIG_DIR.glob('*.py'), *(CONFIG_DIR / 'demo').glob('*.py')])
HEIGHT, WIDTH = 96, 128


def test_every_config_is_collected():
    assert len(CONFIGS) >= 9 and {'demo', 'configs'} == {path.parent.name for path in CONFIGS}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda path: f'{path.parent.name}/{path.name}')
def test_config_builds_and_predicts_non_square_input(path):
    cfg = Config.fromfile(str(path))
    model = build_model(cfg)
    assert type(model.backbone).__name__ == 'GhostNetV2'
    if cfg.default_scope == 'mmdet':
        data = model.data_preprocessor(demo_mm_inputs(1, [(3, HEIGHT, WIDTH)], num_classes=80), False)
        with torch.no_grad():
            prediction, = model(**data, mode='predict')
        boxes = prediction.pred_instances.bboxes
        assert boxes.ndim == 2 and boxes.shape[1] == 4 and torch.isfinite(boxes).all()
        assert prediction.ori_shape == (HEIGHT, WIDTH)
    else:
        assert cfg.default_scope == 'mmseg', cfg.default_scope
        sample = SegDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH), ori_shape=(HEIGHT, WIDTH)))
        image = torch.randint(0, 256, (3, HEIGHT, WIDTH), dtype=torch.uint8)
        data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
        with torch.no_grad():
            prediction, = model(**data, mode='predict')
        labels = prediction.pred_sem_seg.data
        assert labels.shape == (1, HEIGHT, WIDTH)
        assert 0 <= labels.min() and labels.max() < model.decode_head.num_classes
