"""Official, timm and detector checkpoints load strictly through ``init_cfg``."""
import io
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmghost.models import GhostNetV2
from mmghost.models.backbones.weights import backbone_state_dict
from oracle import make_timm_model, official_checkpoint, timm_stage_outputs


@pytest.fixture
def official_file(tmp_path, timm_100):
    path = tmp_path / 'ck_ghostnetv2_10.pth.tar'
    official_checkpoint(timm_100, path)
    return path


def init_weights_log(backbone: GhostNetV2) -> str:
    """Run ``backbone.init_weights()`` and return what it logged."""
    logger = MMLogger.get_current_instance()
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        backbone.init_weights()
    finally:
        logger.removeHandler(handler)
    return handler.stream.getvalue()


def test_official_checkpoint_loads_and_matches_timm(official_file, timm_100):
    backbone = GhostNetV2(out_indices=(2, 4, 6, 9), init_cfg=dict(type='Pretrained', checkpoint=str(official_file)))
    log = init_weights_log(backbone)
    assert "ignored the classification head ['classifier', 'conv_head'] and 1044 thop counters" in log
    images = torch.randn(1, 3, 160, 131)
    expected = timm_stage_outputs(timm_100, images)
    with torch.no_grad():
        outputs = backbone.eval()(images)
    for out, index in zip(outputs, (2, 4, 6, 9)):
        torch.testing.assert_close(out, expected[index], rtol=1e-5, atol=1e-5)


def test_unbuilt_stage_keys_are_dropped_and_logged(official_file, timm_100):
    backbone = GhostNetV2(out_indices=(4, 6, 8), init_cfg=dict(type='Pretrained', checkpoint=str(official_file)))
    log = init_weights_log(backbone)
    blocks_9 = sorted(k for k in timm_100.state_dict() if k.startswith('blocks.9.'))
    assert len(blocks_9) == 6  # conv.weight and bn1's five tensors
    assert f"Ignored 6 tensors of the stages that out_indices leaves unbuilt ['blocks.9']: {blocks_9}" in log
    state, ignored = backbone_state_dict(torch.load(official_file, weights_only=True), backbone)
    assert set(state) == set(backbone.state_dict())
    assert [k for k in ignored if not k.endswith(('total_ops', 'total_params'))
            and not k.startswith(('conv_head.', 'classifier.'))] == blocks_9


def test_checkpoint_from_file_url_is_loaded(official_file, timm_100):
    """file:// URLs name local files (http(s) and mmengine's schemes: tests/test_checkpoint_loading.py)."""
    backbone = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=official_file.as_uri()))
    backbone.init_weights()
    torch.testing.assert_close(backbone.conv_stem.weight, timm_100.conv_stem.weight)


def test_detector_checkpoint_with_prefix(tmp_path, timm_100):
    state = {f'backbone.{k}': v for k, v in timm_100.state_dict().items() if not k.startswith('classifier')}
    state['bbox_head.conv.weight'] = torch.zeros(3)
    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': state, 'meta': {'epoch': 1}}, path)
    backbone = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    backbone.init_weights()
    torch.testing.assert_close(backbone.blocks[9][0].conv.weight, timm_100.blocks[9][0].conv.weight)


def test_checkpoint_of_another_width_is_refused(official_file):
    backbone = GhostNetV2(widen_factor=1.3, init_cfg=dict(type='Pretrained', checkpoint=str(official_file)))
    before = backbone.conv_stem.weight.clone()
    with pytest.raises(ValueError, match=r'conv_stem\.weight: checkpoint \(16, 3, 3, 3\) vs model \(20, 3, 3, 3\)'):
        backbone.init_weights()
    assert torch.equal(before, backbone.conv_stem.weight)  # nothing partially loaded


def test_checkpoint_missing_backbone_keys_is_refused(tmp_path, timm_100):
    state = {k: v for k, v in timm_100.state_dict().items() if not k.startswith('blocks.9')}
    torch.save(state, tmp_path / 'partial.pth')
    backbone = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'partial.pth')))
    with pytest.raises(ValueError, match=r'missing keys \[.blocks\.9\.0'):
        backbone.init_weights()


def test_dfc_everywhere_needs_weights_the_official_file_lacks(official_file):
    backbone = GhostNetV2(attention_blocks='all', init_cfg=dict(type='Pretrained', checkpoint=str(official_file)))
    with pytest.raises(ValueError, match=r'blocks\.0\.0\.ghost1\.short_conv'):
        backbone.init_weights()


def test_missing_checkpoint_file_is_named(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=missing)).init_weights()


def test_non_state_dict_checkpoint_is_refused(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / 'list.pth')
    with pytest.raises(TypeError, match='state dict'):
        GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'list.pth'))).init_weights()


def test_timm_weights_used_for_all_three_widths():
    for width in (1.3, 1.6):
        timm_model = make_timm_model(width)
        backbone = GhostNetV2(widen_factor=width)
        state, ignored = backbone_state_dict(timm_model.state_dict(), backbone)
        assert set(state) == set(backbone.state_dict())
        assert ignored == sorted(k for k in timm_model.state_dict() if k.startswith(('conv_head', 'classifier')))
