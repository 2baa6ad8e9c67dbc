"""Parameter count and multiply-adds match the official model and the paper."""
from typing import List

import pytest
import torch
import torch.nn as nn

from mmghost.models import GhostNetV2
from oracle import make_timm_model

# Official backbone + classification head parameter counts (ck_ghostnetv2_{10,13,16}).
OFFICIAL_PARAMS = {1.0: 6_156_908, 1.3: 8_960_404, 1.6: 12_392_698}
PAPER_MACS_1X = 167e6


def count_macs(modules: List[nn.Module], run) -> int:
    """Multiply-adds of the Conv2d and Linear layers among ``modules`` during ``run()``.

    The convention of the paper's 167M: only convolutions and fully-connected layers are counted;
    BatchNorm, activations, pooling, interpolation and the DFC gate's multiply are not.
    """
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel_ops = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * kernel_ops
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for root in modules for m in root.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        run()
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.parametrize('widen_factor', sorted(OFFICIAL_PARAMS))
def test_backbone_plus_head_has_the_official_parameter_count(widen_factor):
    timm_model = make_timm_model(widen_factor)
    head = sum(p.numel() for m in (timm_model.conv_head, timm_model.classifier) for p in m.parameters())
    backbone = sum(p.numel() for p in GhostNetV2(widen_factor=widen_factor).parameters())
    assert backbone + head == OFFICIAL_PARAMS[widen_factor]


def test_macs_at_224_match_the_paper(timm_100):
    backbone = GhostNetV2(out_indices=(9, )).eval()
    images = torch.randn(1, 3, 224, 224)
    backbone_macs = count_macs([backbone], lambda: backbone(images))
    timm_macs = count_macs([timm_100], lambda: timm_100(images))
    head_macs = count_macs([timm_100.conv_head, timm_100.classifier], lambda: timm_100(images))
    assert backbone_macs + head_macs == timm_macs
    assert abs(backbone_macs + head_macs - PAPER_MACS_1X) / PAPER_MACS_1X < 0.01
