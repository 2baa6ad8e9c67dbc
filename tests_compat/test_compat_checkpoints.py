"""Official, timm and mmdet checkpoint files load into GhostNetV2 through ``init_cfg`` on the oldest supported stack."""
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch
import torch.nn as nn

from mmghost.models import GhostNetV2
from oracle import make_timm_model, official_checkpoint, timm_stage_outputs

OUT_INDICES = (2, 4, 6, 9)


def write_official(model: nn.Module, path: Path) -> Dict:
    official_checkpoint(model, path)
    return {}


def write_timm(model: nn.Module, path: Path) -> Dict:
    torch.save(model.state_dict(), path)
    return {}


def write_timm_safetensors(model: nn.Module, path: Path) -> Dict:
    from safetensors.torch import save_file
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(path))
    return {}


def write_mmdet(model: nn.Module, path: Path) -> Dict:
    state = {f'backbone.{name}': tensor for name, tensor in model.state_dict().items()
             if not name.startswith(('classifier', 'conv_head'))}
    state['bbox_head.retina_cls.weight'] = torch.zeros(36, 64, 3, 3)
    torch.save({'meta': {'epoch': 12}, 'state_dict': state}, path)
    return {'prefix': 'backbone.'}


WRITERS: Dict[str, Callable[[nn.Module, Path], Dict]] = {
    'ck_ghostnetv2_10.pth.tar': write_official,
    'timm_ghostnetv2_100.pth': write_timm,
    'timm_ghostnetv2_100.safetensors': write_timm_safetensors,
    'retinanet_ghostnetv2.pth': write_mmdet,
}


@pytest.fixture(scope='module')
def timm_model() -> nn.Module:
    return make_timm_model(1.0, seed=3)


@pytest.mark.parametrize('name', WRITERS)
def test_checkpoint_file_loads_and_matches_timm(name, timm_model, tmp_path):
    path = tmp_path / name
    extra = WRITERS[name](timm_model, path)
    backbone = GhostNetV2(out_indices=OUT_INDICES,
                          init_cfg=dict(type='Pretrained', checkpoint=str(path), **extra))
    backbone.init_weights()
    images = torch.randn(1, 3, 97, 131)
    expected = timm_stage_outputs(timm_model, images)
    with torch.no_grad():
        outputs = backbone.eval()(images)
    for output, index in zip(outputs, OUT_INDICES):
        torch.testing.assert_close(output, expected[index], rtol=1e-5, atol=1e-5)
