"""Parameter count and multiply-adds match the official model and the paper; the FLOPs tool counts DFC."""
import re

import pytest
import torch

from mmghost.analysis import conv_linear_macs, flop_analyzer
from mmghost.models import GhostNetV2
from oracle import make_timm_model
from tools_helpers import ROOT, run_tool

# Official backbone + classification head parameter counts (ck_ghostnetv2_{10,13,16}).
OFFICIAL_PARAMS = {1.0: 6_156_908, 1.3: 8_960_404, 1.6: 12_392_698}
PAPER_MACS_1X = 167e6


@pytest.mark.parametrize('widen_factor', sorted(OFFICIAL_PARAMS))
def test_backbone_plus_head_has_the_official_parameter_count(widen_factor):
    timm_model = make_timm_model(widen_factor)
    head = sum(p.numel() for m in (timm_model.conv_head, timm_model.classifier) for p in m.parameters())
    backbone = sum(p.numel() for p in GhostNetV2(widen_factor=widen_factor).parameters())
    assert backbone + head == OFFICIAL_PARAMS[widen_factor]


def test_macs_at_224_match_the_paper(timm_100):
    """Conv2d + Linear multiply-adds only (the paper's convention): 167.05M with the ImageNet head."""
    backbone = GhostNetV2(out_indices=(9, )).eval()
    images = torch.randn(1, 3, 224, 224)
    backbone_macs = conv_linear_macs(backbone, lambda: backbone(images))
    timm_macs = conv_linear_macs(timm_100, lambda: timm_100(images))
    head_macs = 960 * 1280 + 1280 * 1000  # conv_head on the pooled 1x1 map, then the classifier
    assert backbone_macs + head_macs == timm_macs
    assert abs(backbone_macs + head_macs - PAPER_MACS_1X) / PAPER_MACS_1X < 0.01


def test_flop_analyzer_counts_the_dfc_elementwise_ops():
    backbone = GhostNetV2(out_indices=(9, )).eval()
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        plain = flop_analyzer(backbone, (images, ), count_dfc_elementwise=False).total()
        with_dfc = flop_analyzer(backbone, (images, )).total()
    gates = [m.short_conv for m in backbone.modules() if getattr(m, 'short_conv', None) is not None]
    assert len(gates) == 14
    # at least sigmoid + up-sampling + multiply over every gated map are added
    assert with_dfc - plain > 2 * sum(g.get_submodule('0').out_channels for g in gates) * 4


def test_get_flops_tool_reports_the_paper_figure(tmp_path):
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', ROOT / 'configs' /
                       'retinanet_ghostnetv2_coco.py', '--part', 'backbone', '--shape', '224'], tmp_path)
    macs = int(re.search(r'MACs with the ImageNet head \(paper\):\s+\S+ \(([\d,]+)\)', result.stdout)
               .group(1).replace(',', ''))
    assert abs(macs - PAPER_MACS_1X) / PAPER_MACS_1X < 0.01
    detector = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', ROOT / 'configs' /
                         'retinanet_ghostnetv2_coco.py', '--shape', '256', '320'], tmp_path)
    assert 'FLOPs (mmengine + DFC element-wise)' in detector.stdout


def test_get_flops_rejects_a_bad_shape(tmp_path):
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', ROOT / 'configs' /
                       'retinanet_ghostnetv2_coco.py', '--shape', '1', '2', '3'], tmp_path, check=False)
    assert result.returncode == 2 and '--shape takes H W or one size' in result.stderr
