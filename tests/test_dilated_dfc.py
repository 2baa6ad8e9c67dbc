"""In a dilated stage, DFC attention computes what the pretrained (undilated) DFC computes.

The inputs here are nearest up-samplings by the dilation d of a coarse map: what the dilated network's
stage sees where the undilated network's stage sees the coarse map. Pooling by 2d then averages the same
values as the undilated 2x2 pooling (d * d copies of each), so the only difference is the rounding of the
pooling sums.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmghost.models import GhostNetV2
from mmghost.models.layers import DFCAttention, GhostBottleneck
from oracle import randomize_norm_stats

TOLERANCE = dict(rtol=1e-5, atol=1e-6)


def upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode='nearest')


def same_weights(undilated: nn.Module, dilated: nn.Module) -> None:
    """Random weights and BN statistics in ``undilated``, copied into ``dilated``; both in eval mode."""
    randomize_norm_stats(undilated, seed=1)
    dilated.load_state_dict(undilated.state_dict())
    undilated.eval(), dilated.eval()


@pytest.fixture
def dfc_pair():
    torch.manual_seed(0)

    def make(dilation: int):
        undilated, dilated = DFCAttention(8, 12), DFCAttention(8, 12, dilation=dilation)
        same_weights(undilated, dilated)
        return undilated, dilated

    return make


@pytest.mark.parametrize('dilation', [2, 4])
@pytest.mark.parametrize('size', [(6, 8), (10, 4), (2, 14)])
def test_dilated_gate_is_the_undilated_gate_upsampled(dfc_pair, dilation, size):
    undilated, dilated = dfc_pair(dilation)
    coarse = torch.randn(2, 8, *size)
    fine = upsample(coarse, dilation)
    with torch.no_grad():
        expected = upsample(undilated(coarse, size), dilation)
        torch.testing.assert_close(dilated(fine, fine.shape[-2:]), expected, **TOLERANCE)
        # The comparison is sensitive: ignoring the dilation (2x2 pooling at the finer resolution) fails it.
        with pytest.raises(AssertionError):
            torch.testing.assert_close(undilated(fine, fine.shape[-2:]), expected, **TOLERANCE)


@pytest.mark.parametrize('dilation', [2, 4])
@pytest.mark.parametrize('size', [(5, 8), (7, 3), (1, 6)])
def test_odd_sides_pool_the_same_windows(dfc_pair, dilation, size):
    """With an odd side the last row/column is outside every pooling window, at any dilation, so the gate
    at the pooled resolution is the same; the nearest up-sampling to an odd side is not a multiple of 2d
    and places some seams differently (see the README's Dilation paragraph)."""
    undilated, dilated = dfc_pair(dilation)
    coarse = torch.randn(2, 8, *size)
    pooled = tuple(max(1, side // 2) for side in size)
    with torch.no_grad():
        torch.testing.assert_close(dilated(upsample(coarse, dilation), pooled), undilated(coarse, pooled),
                                   **TOLERANCE)


@pytest.mark.parametrize('size', [(33, 47), (3, 5), (1, 1)])
def test_gate_has_the_requested_size(dfc_pair, size):
    _, dilated = dfc_pair(4)
    with torch.no_grad():
        assert dilated(torch.randn(1, 8, *size), size).shape == (1, 12, *size)


@pytest.mark.parametrize('dilation', [2, 4])
def test_dilated_bottleneck_is_the_undilated_bottleneck_upsampled(dilation):
    """A stride-1 bottleneck (DFC, SE, dilated cheap convs) commutes with nearest up-sampling by d."""
    torch.manual_seed(0)
    kwargs = dict(kernel_size=5, se_ratio=0.25, with_attention=True)
    undilated = GhostBottleneck(16, 48, 16, **kwargs)
    dilated = GhostBottleneck(16, 48, 16, dilation=dilation, **kwargs)
    same_weights(undilated, dilated)
    coarse = torch.randn(2, 16, 6, 10)
    with torch.no_grad():
        torch.testing.assert_close(dilated(upsample(coarse, dilation)), upsample(undilated(coarse), dilation),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('output_stride,stage,dilation', [(8, 6, 2), (16, 8, 2), (8, 8, 4)])
def test_dilated_backbone_stage_runs_the_pretrained_computation(output_stride, stage, dilation):
    """The stride-1 stages of a dilated backbone map an up-sampled input to the up-sampled output of the
    undilated backbone's stage, with the same (e.g. pretrained) weights."""
    torch.manual_seed(0)
    undilated = GhostNetV2(out_indices=(stage, ))
    dilated = GhostNetV2(out_indices=(stage, ), output_stride=output_stride)
    same_weights(undilated, dilated)
    coarse = torch.randn(1, undilated.stage_channels[stage - 1], 4, 6)
    with torch.no_grad():
        expected = upsample(undilated.blocks[stage](coarse), dilation)
        torch.testing.assert_close(dilated.blocks[stage](upsample(coarse, dilation)), expected,
                                   rtol=1e-5, atol=1e-5)
