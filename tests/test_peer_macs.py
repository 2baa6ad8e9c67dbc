"""Our configs cost no more multiply-adds than their MobileNetV2 peers, counted by the same code."""
import re
from typing import Any, Dict, Optional

import pytest
import torch

from mmghost.analysis import conv_linear_macs
from mmghost.deploy import TensorOutputs
from cli_utils import load_config
from mmghost.apis import build_model, resolve_config
from tools_helpers import ROOT, run_tool

PEERS = [
    ('deeplabv3_ghostnetv2_ade20k.py', 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
    ('deeplabv3_ghostnetv2_os16_ade20k.py',
     'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
    ('yolov3_ghostnetv2_320_coco.py', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'),
    ('yolov3_ghostnetv2_416_coco.py', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
]


def macs(config: str, size: int, cfg_options: Optional[Dict[str, Any]] = None) -> int:
    model = TensorOutputs(build_model(load_config(config, cfg_options))).eval()
    images = torch.randn(1, 3, size, size)
    return conv_linear_macs(model, lambda: model(images))


def printed_macs(stdout: str) -> int:
    """The paper-convention MACs that get_flops.py prints."""
    return int(re.search(r'MACs \(Conv2d \+ Linear, paper\):\s+\S+ \(([\d,]+)\)', stdout).group(1).replace(',', ''))


@pytest.mark.parametrize('config,peer', PEERS, ids=[c for c, _ in PEERS])
def test_config_costs_no_more_than_its_peer(config, peer):
    ours = macs(str(ROOT / 'configs' / config), 256)
    theirs = macs(resolve_config(peer), 256)
    assert 0 < ours <= theirs, f'{config}: {ours:,} MACs vs peer {theirs:,}'


def test_get_flops_takes_a_package_config(tmp_path):
    peer = PEERS[2][1]
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', peer, '--shape', '128'], tmp_path)
    assert printed_macs(result.stdout) == macs(resolve_config(peer), 128)


def test_get_flops_applies_cfg_options(tmp_path):
    """The ASPP moved to blocks.9: the printed MACs are those of the model built with the same overrides."""
    config = str(ROOT / 'configs' / 'deeplabv3_ghostnetv2_ade20k.py')
    options = ['model.backbone.out_indices=(6,9)', 'model.decode_head.in_channels=960']
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', config, '--shape', '128', '--cfg-options',
                       *options], tmp_path)
    moved = macs(config, 128, {'model.backbone.out_indices': (6, 9), 'model.decode_head.in_channels': 960})
    assert printed_macs(result.stdout) == moved > macs(config, 128)
    refused = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', config, '--cfg-options', 'modle.x=1'],
                       tmp_path, check=False)
    assert refused.returncode != 0 and "'modle' is neither a key of the config" in refused.stderr


def test_get_flops_rejects_an_unknown_package(tmp_path):
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', 'mmpose::x/y.py'], tmp_path, check=False)
    assert result.returncode != 0 and "must be one of ('mmdet', 'mmseg'), got 'mmpose'" in result.stderr
