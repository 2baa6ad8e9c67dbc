"""Our configs cost no more multiply-adds than their MobileNetV2 peers, counted by the same code."""
import re

import pytest
import torch

from mmghost.analysis import conv_linear_macs
from mmghost.deploy import TensorOutputs
from mmghost.engine import build_model, load_config
from mmghost.engine.package_config import resolve_config
from tools_helpers import ROOT, run_tool

PEERS = [
    ('deeplabv3_ghostnetv2_ade20k.py', 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
    ('deeplabv3_ghostnetv2_os16_ade20k.py',
     'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'),
    ('yolov3_ghostnetv2_320_coco.py', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'),
    ('yolov3_ghostnetv2_416_coco.py', 'mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'),
]


def macs(config: str, size: int) -> int:
    model = TensorOutputs(build_model(load_config(config))).eval()
    images = torch.randn(1, 3, size, size)
    return conv_linear_macs(model, lambda: model(images))


@pytest.mark.parametrize('config,peer', PEERS, ids=[c for c, _ in PEERS])
def test_config_costs_no_more_than_its_peer(config, peer):
    ours = macs(str(ROOT / 'configs' / config), 256)
    theirs = macs(resolve_config(peer), 256)
    assert 0 < ours <= theirs, f'{config}: {ours:,} MACs vs peer {theirs:,}'


def test_get_flops_takes_a_package_config(tmp_path):
    peer = PEERS[2][1]
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', peer, '--shape', '128'], tmp_path)
    printed = int(re.search(r'MACs \(Conv2d \+ Linear, paper\):\s+\S+ \(([\d,]+)\)', result.stdout)
                  .group(1).replace(',', ''))
    assert printed == macs(resolve_config(peer), 128)


def test_get_flops_rejects_an_unknown_package(tmp_path):
    result = run_tool([ROOT / 'tools' / 'analysis_tools' / 'get_flops.py', 'mmpose::x/y.py'], tmp_path, check=False)
    assert result.returncode != 0 and "must be one of ('mmdet', 'mmseg'), got 'mmpose'" in result.stderr
