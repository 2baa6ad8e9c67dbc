"""Shared fixtures; the tools' shared module (tools/cli_utils) is importable as ``cli_utils``, as for the tools."""
import sys
from pathlib import Path

import pytest
import torch.nn as nn

from mmghost.demo_data import make_detection_dataset, make_segmentation_dataset
from oracle import make_timm_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))


@pytest.fixture(scope='session')
def timm_100() -> nn.Module:
    return make_timm_model(1.0)


# the generated demo images that the deployment tests predict on
@pytest.fixture(scope='session')
def det_images(tmp_path_factory):
    root = tmp_path_factory.mktemp('det_data')
    make_detection_dataset(str(root), num_train=1, num_val=3, seed=7)
    return sorted((root / 'val').glob('*.jpg'))


@pytest.fixture(scope='session')
def seg_images(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg_data')
    make_segmentation_dataset(str(root), num_train=1, num_val=3, seed=7)
    return sorted((root / 'images' / 'validation').glob('*.jpg'))
