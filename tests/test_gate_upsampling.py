"""The DFC gate's up-sampling rewrites reproduce PyTorch's ``nearest`` exactly."""
import pytest
import torch
import torch.nn.functional as F

from mmghost.deploy.gate_upsampling import (MAX_UPSAMPLE_RATIO, StaticDFCAttention, UpsamplePlan, nearest_indices,
                                            upsample_plan)
from mmghost.models.layers import DFCAttention
from deploy_helpers import randomised
from tools_helpers import import_tool


@pytest.mark.parametrize('pooled,size', [(3, 7), (12, 25), (4, 8), (5, 5), (3, 10), (7, 15)])
def test_nearest_indices_are_pytorchs(pooled, size):
    source = torch.arange(float(pooled)).reshape(1, 1, pooled, 1)
    expected = F.interpolate(source, size=(size, 1), mode='nearest').flatten().long()
    assert torch.equal(nearest_indices(size, pooled), expected)


def test_upsample_plan_picks_pytorchs_rows():
    plans = {}
    for out in range(1, 41):
        for pooled in range(1, out + 1):
            plan = upsample_plan(out, pooled)
            if plan is not None:
                rows = (plan.stride * torch.arange(out) + plan.offset) // plan.scale
                assert torch.equal(rows, nearest_indices(out, pooled)), (out, pooled, plan)
                assert plan.scale * pooled <= MAX_UPSAMPLE_RATIO * out
                plans[out, pooled] = plan
    assert plans[14, 7] == UpsamplePlan(2, 1, 0) and plans[20, 5] == UpsamplePlan(4, 1, 0)
    assert plans[7, 3] == UpsamplePlan(5, 2, 0)  # the last stage at 224x224 input
    assert (9, 4) not in plans and (25, 12) not in plans  # no exact plan within the ratio


@pytest.mark.parametrize('fallback', ['resize', 'gather'])
@pytest.mark.parametrize('size', [(14, 14), (7, 7), (7, 10), (5, 3), (3, 1), (9, 9), (25, 42), (1, 1)])
def test_static_gate_is_the_gate(size, fallback):
    attention = randomised(DFCAttention(16, 24))
    static = StaticDFCAttention(attention, fallback).eval()
    x = torch.randn(2, 16, *size, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        expected, actual = attention(x, size), static(x, size)
    assert actual.shape == (2, 24, *size)
    assert torch.equal(actual, expected)


def test_static_gate_refuses_an_unknown_fallback():
    with pytest.raises(ValueError, match="fallback must be one of \\('resize', 'gather'\\), got 'nearest'"):
        StaticDFCAttention(DFCAttention(16, 24), 'nearest')


class StaticGate(torch.nn.Module):
    """A static DFC gate up-sampled to its input's size."""

    def __init__(self, attention: DFCAttention) -> None:
        super().__init__()
        self.static = StaticDFCAttention(attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.static(x, x.shape[-2:])


def test_static_gate_kernel_is_data_in_a_litert_file(tmp_path):
    """The one-hot kernel (7 from 3) is a constant of the file: LiteRT does not build it in every run, with
    operators that its XNNPACK delegate does not take."""
    import litert_torch
    litert_ops = import_tool('tools.analysis_tools.benchmark.litert_ops')
    path = str(tmp_path / 'gate.tflite')
    litert_torch.convert(StaticGate(randomised(DFCAttention(16, 24))).eval(), (torch.randn(1, 16, 7, 7), )).export(path)
    graph = litert_ops.LiteRTGraph(open(path, 'rb').read())
    convs = [op for op in graph.graph.operators if graph.op_type(op) == 'DEPTHWISE_CONV_2D']
    assert len(convs) == 3  # the (1, 5) and (5, 1) convs of the gate, and the one-hot pick of 7 rows from 15
    assert all(graph.is_constant(op.inputs[1]) for op in convs)
    assert {graph.op_type(op) for op in graph.graph.operators} == {
        'TRANSPOSE', 'AVERAGE_POOL_2D', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'LOGISTIC', 'RESIZE_NEAREST_NEIGHBOR'}
