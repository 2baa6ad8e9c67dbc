"""The exact graph rewrites for onnxruntime and LiteRT (mmghost.deploy.graph_rewrites): the rewritten network computes
what the folded one does (float64: to 1e-10), every rewritten ONNX graph gives the plain export's outputs in
onnxruntime, the rewrites are where the module says, and the original model is left as it was."""
import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from mmghost.deploy import TensorOutputs, export_onnx, fuse_model, rewrite_for_onnxruntime
from mmghost.deploy.gate_upsampling import StaticDFCAttention
from mmghost.deploy.graph_rewrites import (CHANNEL_ALIGN, RESIDUAL_PAD_MAX, SINGLE_CONV_MAX_IN, Layout,
                                           RewrittenGhostNetV2, residual_layout, rewrite_for_litert, spread_conv)
from mmghost.models import GhostNetV2
from mmghost.models.layers import DFCAttention, GhostBottleneck, SqueezeExcite
from deploy_helpers import DETECTORS, SEGMENTOR, randomised, trained_model
from tools_helpers import ROOT, run_tool


BACKBONES = {
    'width 1.0': dict(),
    'width 1.3, bilinear gate': dict(widen_factor=1.3, attention_upsample='bilinear'),
    'width 1.6, output stride 8': dict(widen_factor=1.6, output_stride=8),
}


@pytest.mark.parametrize('static', [False, True], ids=['dynamic', 'static'])
@pytest.mark.parametrize('kwargs', BACKBONES.values(), ids=BACKBONES.keys())
def test_rewritten_backbone_computes_the_folded_backbone(kwargs, static):
    backbone = randomised(GhostNetV2(out_indices=(2, 4, 6, 9), **kwargs))
    folded = fuse_model(copy.deepcopy(backbone)).double()
    rewritten = rewrite_for_onnxruntime(backbone, static=static).double()
    assert any(isinstance(m, StaticDFCAttention) for m in rewritten.modules()) == (
        static and kwargs.get('attention_upsample', 'nearest') == 'nearest')
    images = torch.randn(1, 3, 96, 160, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, actual = folded(images), rewritten(images)
    for e, a in zip(expected, actual):
        assert e.shape == a.shape
        assert float((a - e).abs().max() / e.abs().max()) < 1e-10


def test_rewrite_leaves_the_model_unchanged():
    backbone = randomised(GhostNetV2())
    before = {name: tensor.clone() for name, tensor in backbone.state_dict().items()}
    rewrite_for_onnxruntime(backbone)
    after = backbone.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules())


def test_rewrites_are_where_the_module_says():
    backbone = randomised(GhostNetV2(out_indices=(4, 6)))
    rewritten = rewrite_for_onnxruntime(backbone)
    assert isinstance(rewritten, RewrittenGhostNetV2)
    pairs = list(zip((m for m in backbone.modules() if isinstance(m, GhostBottleneck)),
                     (m for m in rewritten.modules() if isinstance(m, GhostBottleneck))))
    padded = 0
    for original, block in pairs:
        single = original.ghost1.primary_conv[0].in_channels <= SINGLE_CONV_MAX_IN
        assert block.ghost1.single_conv == single
        if not single:  # each half in a slot of a multiple of CHANNEL_ALIGN channels
            assert block.ghost1.primary_conv[0].out_channels % CHANNEL_ALIGN == 0
            if block.conv_dw is not None:
                assert block.conv_dw.out_channels == block.ghost1.primary_conv[0].out_channels * 2
        assert block.ghost2.primary_conv[0].in_channels == block.ghost1.cheap_operation[0].out_channels * (
            1 if single else 2)
        # The residual stream: ghost2's halves are padded where residual_layout says, and the next block reads it.
        layout = residual_layout(original.ghost2.out_channels)
        width = original.ghost2.out_channels if layout is None else layout.width
        single2 = original.ghost2.primary_conv[0].in_channels <= SINGLE_CONV_MAX_IN  # computes both halves
        assert block.ghost2.primary_conv[0].out_channels == (width if single2 else width // 2)
        padded += layout is not None
    assert sum(block.ghost1.single_conv for _, block in pairs) == 4  # the blocks that read 16 or 24 channels
    assert padded == 8  # two outputs of 24 channels, four of 80, two of 112; not 16, 40 (halves 8, 20) or 160
    assert sorted(rewritten.output_positions) == [6]  # stage 4 (40 channels) is dense, stage 6 (112) gathered


@pytest.mark.parametrize('channels,width', [(16, None), (24, 32), (40, None), (80, 96), (112, 128), (160, None)])
def test_residual_layout_pads_the_halves_where_it_is_cheap(channels, width):
    layout = residual_layout(channels)
    assert (layout and layout.width) == width
    if layout is not None:
        half = channels // 2
        assert torch.equal(layout.positions, torch.cat([torch.arange(half), width // 2 + torch.arange(half)]))
        assert width // 2 - half <= RESIDUAL_PAD_MAX * half


def graph_ops(path) -> list:
    return [node.op_type for node in onnx.load(str(path)).graph.node]


def session_outputs(path, images: torch.Tensor) -> list:
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: images.numpy()})


def relative_difference(outputs: list, reference: list) -> float:
    assert [o.shape for o in outputs] == [r.shape for r in reference]
    return max(float(np.abs(o - r).max() / max(np.abs(r).max(), 1e-6)) for o, r in zip(outputs, reference))


def assert_same_outputs(plain: list, rewritten: list, plain_error: float = 0.0) -> None:
    """The rewritten graph's outputs are the plain graph's, within 1e-4 or twice the plain graph's own float32
    error (``plain_error``, against float64): the trained-ish heads amplify rounding."""
    assert relative_difference(rewritten, plain) < max(1e-4, 2 * plain_error)


@pytest.mark.parametrize('config', ['backbone', *DETECTORS, SEGMENTOR])
def test_rewritten_onnx_graph_gives_the_plain_exports_outputs(tmp_path, det_images, seg_images, config):
    if config == 'backbone':
        model = randomised(GhostNetV2(out_indices=(2, 4, 6, 9)))
    else:
        model = trained_model(config, seg_images if config == SEGMENTOR else det_images)[1]
    folded = fuse_model(copy.deepcopy(model))
    images = torch.randn(1, 3, 160, 224, generator=torch.Generator().manual_seed(2))
    export_onnx(folded, images, tmp_path / 'plain.onnx')
    export_onnx(rewrite_for_onnxruntime(model), images, tmp_path / 'rewritten.onnx')
    plain_ops, rewritten_ops = graph_ops(tmp_path / 'plain.onnx'), graph_ops(tmp_path / 'rewritten.onnx')
    assert rewritten_ops.count('Concat') < plain_ops.count('Concat')
    squeezes = sum(isinstance(m, SqueezeExcite) for m in model.modules())
    assert rewritten_ops.count('GlobalAveragePool') - plain_ops.count('GlobalAveragePool') == squeezes > 0
    folded64, rewritten64 = TensorOutputs(copy.deepcopy(folded).double()), TensorOutputs(
        rewrite_for_onnxruntime(model).double())
    for shape in ((160, 224), (128, 96)):  # the traced size and another one
        images = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            exact = [t.numpy() for t in folded64(images.double())]
            assert relative_difference([t.numpy() for t in rewritten64(images.double())], exact) < 1e-10
        plain = session_outputs(tmp_path / 'plain.onnx', images)
        assert_same_outputs(plain, session_outputs(tmp_path / 'rewritten.onnx', images),
                            relative_difference(plain, exact))


def resize_size_inputs(path) -> int:
    """How many Resize nodes of the file take a ``sizes`` input (an up-sampling to a size, not by a scale)."""
    return sum(node.op_type == 'Resize' and len(node.input) > 3 and node.input[3] != ''
               for node in onnx.load(str(path)).graph.node)


def test_static_rewrite_upsamples_every_gate_by_scales(tmp_path):
    model = randomised(GhostNetV2(out_indices=(4, 6, 9)))
    images = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(4))  # 7x7 gates from 3x3
    export_onnx(fuse_model(copy.deepcopy(model)), images, tmp_path / 'plain.onnx', dynamic=False)
    export_onnx(rewrite_for_onnxruntime(model, static=True), images, tmp_path / 'static.onnx', dynamic=False)
    export_onnx(rewrite_for_onnxruntime(model), images, tmp_path / 'dynamic.onnx', dynamic=False)
    gates = sum(isinstance(m, DFCAttention) for m in model.modules())
    assert resize_size_inputs(tmp_path / 'dynamic.onnx') == gates > 0
    assert resize_size_inputs(tmp_path / 'static.onnx') == 0
    with torch.no_grad():
        exact = [t.numpy() for t in TensorOutputs(fuse_model(copy.deepcopy(model)).double())(images.double())]
    plain = session_outputs(tmp_path / 'plain.onnx', images)
    assert_same_outputs(plain, session_outputs(tmp_path / 'static.onnx', images), relative_difference(plain, exact))


def test_spread_conv_places_channels_and_refuses_grouped_convs():
    conv = nn.Conv2d(3, 4, 1)
    layout = Layout(torch.tensor([0, 2, 5, 6]), 8)
    spread = spread_conv(conv, out_layout=layout, in_layout=Layout(torch.tensor([1, 2, 4]), 5))
    x = torch.randn(1, 3, 4, 4)
    wide = torch.zeros(1, 5, 4, 4)
    wide[:, [1, 2, 4]] = x
    out = spread(wide)
    assert torch.allclose(out[:, layout.positions], conv(x), atol=1e-6)
    assert torch.count_nonzero(out[:, [1, 3, 4, 7]]) == 0
    with pytest.raises(ValueError, match='groups=2'):
        spread_conv(nn.Conv2d(4, 4, 3, groups=2), layout)


def test_export_tool_rewrites_the_onnxruntime_file_unless_told_not_to(tmp_path):
    config = ROOT / 'configs' / SEGMENTOR
    ops = {}
    for flags in ([], ['--no-rewrite'], ['--static']):
        out = tmp_path / f'seg{len(ops)}.onnx'
        result = run_tool([ROOT / 'tools' / 'deployment' / 'export.py', config, '--out', out, '--shape', '128', '128',
                           '--verify', *flags], ROOT)
        assert result.returncode == 0, result.stderr
        assert 'onnxruntime vs PyTorch' in result.stdout
        ops[' '.join(flags)] = graph_ops(out)
    squeezes = ops[''].count('GlobalAveragePool') - ops['--no-rewrite'].count('GlobalAveragePool')
    assert squeezes > 0 and ops['--no-rewrite'].count('ReduceMean') == squeezes
    assert ops[''].count('Concat') < ops['--no-rewrite'].count('Concat')
    assert ops['--static'].count('GlobalAveragePool') == ops[''].count('GlobalAveragePool')
    result = run_tool([ROOT / 'tools' / 'deployment' / 'export.py', config, '--out', tmp_path / 'x.onnx',
                       '--backend', 'ncnn', '--no-rewrite'], ROOT, check=False)
    assert result.returncode == 2 and '--no-rewrite is for onnxruntime: ncnn files are not rewritten' in result.stderr


def test_odd_bottleneck_width_is_refused():
    block = nn.Sequential(GhostBottleneck(16, 32, 17)).eval()
    with pytest.raises(ValueError, match='got a bottleneck output of 17 channels'):
        rewrite_for_onnxruntime(block)


def test_litert_rewrite_replaces_the_nearest_gates_only():
    backbone = randomised(GhostNetV2(out_indices=(9, )))
    rewritten = rewrite_for_litert(backbone)
    static = [m for m in rewritten.modules() if isinstance(m, StaticDFCAttention)]
    assert len(static) == sum(isinstance(m, DFCAttention) for m in backbone.modules()) > 0
    assert all(m.fallback == 'gather' for m in static)
    images = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(5))  # 7x7 gates pooled to 3x3
    with torch.no_grad():
        assert torch.equal(rewritten(images)[0], backbone(images)[0])
    bilinear = GhostNetV2(attention_upsample='bilinear').eval()
    assert not any(isinstance(m, StaticDFCAttention) for m in rewrite_for_litert(bilinear).modules())
