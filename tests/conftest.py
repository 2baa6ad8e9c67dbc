"""Shared fixtures; the tools' shared module (tools/cli_utils) is importable as ``cli_utils``, as for the tools."""
import sys
from pathlib import Path

import pytest
import torch.nn as nn

from oracle import make_timm_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))


@pytest.fixture(scope='session')
def timm_100() -> nn.Module:
    return make_timm_model(1.0)
