"""Property-based checks over input sizes, widths and output indices (hypothesis)."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmghost.apis import build_model
from mmghost.models import GhostNetV2
from test_configs import seg_inputs
from tools_helpers import ROOT

sides = st.integers(min_value=32, max_value=200)
extreme = st.tuples(st.integers(32, 40), st.integers(300, 480))  # aspect ratios of 1:8 and more


@settings(max_examples=30, deadline=None)
@given(size=st.one_of(st.tuples(sides, sides), extreme, extreme.map(lambda s: s[::-1])),
       widen_factor=st.floats(0.5, 2.0),
       out_indices=st.sets(st.integers(0, 9), min_size=1).map(sorted),
       output_stride=st.sampled_from([8, 16, 32]))
def test_backbone_shapes_finite_and_deterministic(size, widen_factor, out_indices, output_stride):
    model = GhostNetV2(widen_factor=widen_factor, out_indices=out_indices, output_stride=output_stride).eval()
    images = torch.randn(1, 3, *size)
    with torch.no_grad():
        first, second = model(images), model(images)
    assert len(first) == len(out_indices) and len(model.blocks) == out_indices[-1] + 1
    for index, out, again in zip(out_indices, first, second):
        stride = model.stage_strides[index]
        assert out.shape == (1, model.stage_channels[index], math.ceil(size[0] / stride),
                             math.ceil(size[1] / stride))
        assert torch.isfinite(out).all()
        assert torch.equal(out, again)


@pytest.fixture(scope='module')
def detector():
    return build_model(str(ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'))


@pytest.fixture(scope='module')
def segmentor():
    return build_model(str(ROOT / 'configs' / 'demo' / 'deeplabv3_ghostnetv2_demo.py'),
                       overrides={'data_preprocessor.size': None, 'data_preprocessor.size_divisor': 8})


@settings(max_examples=10, deadline=None)
@given(size=st.one_of(st.tuples(sides, sides), extreme))
def test_detector_predictions_are_finite_and_inside_the_image(detector, size):
    from mmdet.testing import demo_mm_inputs
    data = detector.data_preprocessor(demo_mm_inputs(1, [(3, *size)], num_classes=4), False)
    with torch.no_grad():
        first = detector(**data, mode='predict')[0].pred_instances
        second = detector(**data, mode='predict')[0].pred_instances
    boxes = first.bboxes
    assert torch.isfinite(boxes).all() and torch.isfinite(first.scores).all()
    assert (boxes[:, 0::2] >= -1e-3).all() and (boxes[:, 1::2] >= -1e-3).all()
    assert (boxes[:, 0::2] <= size[1] + 1e-3).all() and (boxes[:, 1::2] <= size[0] + 1e-3).all()
    assert torch.equal(boxes, second.bboxes) and torch.equal(first.scores, second.scores)


@settings(max_examples=10, deadline=None)
@given(size=st.one_of(st.tuples(sides, sides), extreme))
def test_segmentor_predicts_every_pixel(segmentor, size):
    data = segmentor.data_preprocessor(seg_inputs([size], 4), False)
    with torch.no_grad():
        first = segmentor(**data, mode='predict')[0]
        second = segmentor(**data, mode='predict')[0]
    assert first.pred_sem_seg.data.shape == (1, *size)
    assert torch.isfinite(first.seg_logits.data).all()
    assert set(first.pred_sem_seg.data.unique().tolist()) <= set(range(4))
    assert torch.equal(first.seg_logits.data, second.seg_logits.data)
