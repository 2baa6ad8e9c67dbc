"""Shared fixtures."""
import pytest
import torch.nn as nn

from oracle import make_timm_model


@pytest.fixture(scope='session')
def timm_100() -> nn.Module:
    return make_timm_model(1.0)
