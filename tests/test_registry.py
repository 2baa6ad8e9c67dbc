"""``import mmghost`` makes GhostNetV2 buildable in mmdet and mmseg, by its plain and its scoped name."""
import pytest
from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS as SEG_MODELS

from mmghost.models import GhostNetV2


@pytest.mark.parametrize('registry', [DET_MODELS, SEG_MODELS], ids=['mmdet', 'mmseg'])
def test_plain_name_builds_in_each_registry(registry):
    backbone = registry.build(dict(type='GhostNetV2', widen_factor=1.3, out_indices=(4, 6, 9)))
    assert isinstance(backbone, GhostNetV2)
    assert backbone.out_channels == (52, 144, 1248)


@pytest.mark.parametrize('registry', [DET_MODELS, SEG_MODELS], ids=['mmdet', 'mmseg'])
def test_scoped_name_builds_from_other_scopes(registry):
    with DefaultScope.overwrite_default_scope(registry.scope):
        backbone = registry.build(dict(type='mmghost.GhostNetV2', output_stride=16))
    assert isinstance(backbone, GhostNetV2) and backbone.stage_strides[-1] == 16


def test_bad_argument_in_config_names_it():
    with pytest.raises(ValueError, match='out_indices'):
        DET_MODELS.build(dict(type='GhostNetV2', out_indices=(0, 12)))
