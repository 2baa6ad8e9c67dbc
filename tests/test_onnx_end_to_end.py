"""End-to-end ONNX files (pre-processing, model, decoding, NMS in one graph) against PyTorch ``predict``, in
onnxruntime and, as fp32 OpenVINO IR, in OpenVINO; and ``demo/deploy_demo.py`` without torch."""
import json
from typing import Optional, Tuple

import cv2
import numpy as np
import onnx
import pytest
import torch
import torch.nn as nn
from mmdet.models.utils import filter_scores_and_topk
from onnx import TensorProto, helper

import mmghost_runtime as runtime
from mmghost.deploy import deploy_metadata, end_to_end, export_end_to_end, export_openvino, rewrite_for_onnxruntime
from mmghost.deploy.detection_postprocess import top_candidates
from mmghost_runtime.preprocess import prepare
from cli_utils import load_config
from mmghost.apis import build_model
from deploy_helpers import (DETECTORS, SEGMENTOR, WITHOUT_TORCH, build_test_pipeline, detections_match_pytorch,
                            torch_predict, trained_model)
from tools_helpers import ROOT, run_tool

DEMO = ROOT / 'demo' / 'deploy_demo.py'
BACKENDS = ('onnxruntime', 'openvino')  # end-to-end files; the others: tests/test_network_runtimes.py


def export(config: str, path, images: list, cfg_options: Optional[dict] = None,
           static_hw: Optional[Tuple[int, int]] = None, backend: str = 'onnxruntime') -> tuple:
    """Build ``config``'s model, make it trained-ish on ``images`` (paths), export it to ``path`` (with
    dynamic input size, or fixed to ``static_hw``); return the config, the model and the file opened by
    ``backend`` (for OpenVINO: the fp32 IR written from it, ``.xml`` beside ``path``). The onnxruntime file
    is written after the graph rewrites, as ``export.py`` writes it."""
    cfg, model, _ = trained_model(config, images, cfg_options)
    task = 'detection' if hasattr(model, 'bbox_head') else 'segmentation'
    head = model.bbox_head if task == 'detection' else model.decode_head
    exported = rewrite_for_onnxruntime(model) if backend == 'onnxruntime' else model
    export_end_to_end(exported, str(path), deploy_metadata(cfg, task, head.num_classes),
                      example_hw=static_hw or (160, 224), dynamic=static_hw is None)
    opened = str(path)
    if backend == 'openvino':
        opened = opened[:-len('.onnx')] + '.xml'
        export_openvino(str(path), opened)
    return cfg, model, runtime.open_model(opened, backend)


@pytest.mark.parametrize('nms_pre', [7, 1000, -1])
def test_top_candidates_selects_what_mmdet_selects(nms_pre):
    scores = torch.rand(2, 50, 3, generator=torch.Generator().manual_seed(0))
    values, priors, labels = top_candidates(scores, 0.6, nms_pre)
    for image in range(2):
        expected, expected_labels, expected_priors, _ = filter_scores_and_topk(scores[image], 0.6, nms_pre)
        valid = values[image] > -1
        order = torch.argsort(values[image][valid], descending=True)
        assert torch.equal(values[image][valid][order], expected)
        assert torch.equal(priors[image][valid][order], expected_priors)
        assert torch.equal(labels[image][valid][order], expected_labels)
        assert torch.equal(scores[image][priors[image], labels[image]][valid], values[image][valid])


def test_end_to_end_rejects_what_it_cannot_export(tmp_path):
    with pytest.raises(TypeError, match='got Conv2d'):
        end_to_end(nn.Conv2d(3, 8, 3))
    soft_nms = {'model.test_cfg.nms.type': 'soft_nms'}
    with pytest.raises(ValueError, match="test_cfg.nms.type must be 'nms'.*got 'soft_nms'"):
        end_to_end(build_model(load_config(str(ROOT / 'configs' / DETECTORS[0]), soft_nms)))
    segmentor = build_model(load_config(str(ROOT / 'configs' / SEGMENTOR), {'model.test_cfg.mode': 'slide'}))
    with pytest.raises(ValueError, match="mode='whole', got 'slide'"):
        end_to_end(segmentor)
    with pytest.raises(ValueError, match='H, W >= 64'):
        export_end_to_end(segmentor, str(tmp_path / 'x.onnx'), {}, example_hw=(32, 64))


@pytest.mark.parametrize('backend', BACKENDS)
def test_demo_refuses_a_file_without_metadata(tmp_path, backend):
    graph = helper.make_graph([helper.make_node('Identity', ['images'], ['out'])], 'plain',
                              [helper.make_tensor_value_info('images', TensorProto.UINT8, [1, 8, 8, 3])],
                              [helper.make_tensor_value_info('out', TensorProto.UINT8, [1, 8, 8, 3])])
    onnx.save(helper.make_model(graph), str(tmp_path / 'plain.onnx'))
    with pytest.raises(ValueError, match="plain.onnx' has no mmghost metadata"):
        runtime.open_model(str(tmp_path / 'plain.onnx'), backend)


# a high score_thr leaves fewer than max_per_img detections; YOLOv3 applies it to class scores before the
# objectness multiplies them. RTMDet's pipeline pads to 640x640: a --static file of that size is exact.
@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('config,score_thr,static_hw', [
    (DETECTORS[0], None, None), (DETECTORS[0], 0.92, None), (DETECTORS[1], None, None), (DETECTORS[1], 0.93, None),
    (DETECTORS[2], None, None), (DETECTORS[2], None, (640, 640))])
def test_detector_reproduces_pytorch_predict(tmp_path, det_images, config, score_thr, static_hw, backend):
    options = {'model.test_cfg.score_thr': score_thr} if score_thr else None
    cfg, model, deployed = export(config, tmp_path / 'det.onnx', det_images, options, static_hw, backend)
    pipeline = build_test_pipeline(cfg)
    metadata = deployed.metadata
    assert metadata['task'] == 'detection' and len(metadata['classes']) == model.bbox_head.num_classes
    if backend == 'openvino':  # fp32 also on CPUs where OpenVINO would pick bf16
        import openvino as ov
        assert deployed.compiled.get_property('INFERENCE_PRECISION_HINT') == ov.Type.f32
    found = detections_match_pytorch(deployed, model, pipeline, det_images)
    assert min(found) > 0
    if score_thr:
        assert min(found) < cfg.model.test_cfg.max_per_img


def test_detector_onnx_takes_a_batch_and_any_size(tmp_path, det_images):
    cfg, model, deployed = export(DETECTORS[0], tmp_path / 'det.onnx', det_images)
    images = torch.randint(0, 256, (2, 97, 131, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    boxes, scores, labels = deployed.run(images.numpy())
    max_per_img = cfg.model.test_cfg.max_per_img
    assert boxes.shape == (2, max_per_img, 4) and scores.shape == labels.shape == (2, max_per_img)
    for index in range(2):
        single = deployed.run(images[index:index + 1].numpy())
        np.testing.assert_allclose(single[0][0], boxes[index], rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(single[2][0], labels[index])
        found = labels[index] >= 0
        assert found.sum() > 0 and (scores[index][~found] == 0).all() and np.all(np.diff(scores[index]) <= 0)
        assert (boxes[index][found][:, 2:] <= [131, 97]).all() and (boxes[index][found] >= 0).all()


def test_detector_onnx_without_detections_returns_padding(tmp_path, det_images):
    _, _, deployed = export(DETECTORS[0], tmp_path / 'det.onnx', det_images, {'model.test_cfg.score_thr': 1.0})
    inputs = prepare(cv2.imread(str(det_images[0])), deployed.metadata)[0]
    boxes, scores, labels = deployed.run(inputs)
    assert (labels == -1).all() and (scores == 0).all() and (boxes == 0).all()


@pytest.mark.parametrize('backend', BACKENDS)
def test_segmentor_reproduces_pytorch_predict(tmp_path, seg_images, backend):
    cfg, model, deployed = export(SEGMENTOR, tmp_path / 'seg.onnx', seg_images, backend=backend)
    pipeline = build_test_pipeline(cfg)
    metadata = deployed.metadata
    assert metadata['task'] == 'segmentation' and metadata['classes'] == list(cfg.classes)
    for path in seg_images:
        inputs, _, resized_hw = prepare(cv2.imread(str(path)), metadata)
        # PyTorch at the network input's size: the pipeline's resize, no resizing back
        expected, data = torch_predict(model, pipeline, path, ori_shape=resized_hw)
        assert np.array_equal(inputs[0], data['inputs'].permute(1, 2, 0).numpy())  # the demo resizes as mmcv
        class_map = deployed.run(inputs)[0][0]
        reference = expected.pred_sem_seg.data[0].numpy()
        assert class_map.shape == reference.shape
        assert len(np.unique(reference)) > 1
        assert (class_map == reference).mean() >= 0.999


@pytest.mark.parametrize('backend', BACKENDS)
def test_demo_refuses_an_image_larger_than_a_static_input(tmp_path, det_images, backend):
    _, _, deployed = export(DETECTORS[0], tmp_path / 'det.onnx', det_images, static_hw=(160, 224), backend=backend)
    assert deployed.fixed_hw == (160, 224)
    inputs = prepare(cv2.imread(str(det_images[0])), deployed.metadata)[0]
    assert max(inputs.shape[1:3]) == 320  # the demo config resizes to fit 320x320
    with pytest.raises(ValueError, match=r'larger than the fixed 160x224 input of the model'):
        runtime.detect(deployed, cv2.imread(str(det_images[0])))


# (320, 320): a --static RetinaNet file, into which the demo pads each resized image
@pytest.mark.parametrize('config,static_hw,backend', [
    (DETECTORS[0], None, 'onnxruntime'), (DETECTORS[0], (320, 320), 'onnxruntime'), (SEGMENTOR, None, 'onnxruntime'),
    (DETECTORS[0], None, 'openvino'), (SEGMENTOR, None, 'openvino')])
def test_demo_draws_without_torch(tmp_path, det_images, seg_images, config, static_hw, backend):
    """Also: the runtime starts no process (pip, a converter) and opens no network connection."""
    images = det_images if config in DETECTORS else seg_images
    export(config, tmp_path / 'model.onnx', images, static_hw=static_hw, backend=backend)
    image = images[0]
    model_file = tmp_path / ('model.onnx' if backend == 'onnxruntime' else 'model.xml')
    run_tool(['-c', WITHOUT_TORCH, DEMO, image, model_file, '--backend', backend, '--out-dir', tmp_path / 'out',
              '--score-thr', '0.5'], tmp_path)
    original, drawn = cv2.imread(str(image)), cv2.imread(str(tmp_path / 'out' / 'vis' / f'{image.stem}.png'))
    assert drawn.shape == original.shape
    changed = (drawn != original).any(-1)
    if config in DETECTORS:
        with open(tmp_path / 'out' / 'preds' / f'{image.stem}.json') as f:
            predictions = json.load(f)
        shown = [box for box, score in zip(predictions['bboxes'], predictions['scores']) if score >= 0.5]
        assert shown
        near_boxes = np.zeros_like(changed)
        for x1, y1, x2, y2 in np.round(shown).astype(int):
            near_boxes[max(y1 - 2, 0):y2 + 3, max(x1 - 2, 0):x2 + 3] = True
            baseline = max(y1 - 3, 10)  # the label above the box
            near_boxes[max(baseline - 14, 0):baseline + 6, max(x1, 0):x1 + 150] = True
        assert changed.any() and not (changed & ~near_boxes).any()  # drawn at the detections, nowhere else
    else:
        class_map = cv2.imread(str(tmp_path / 'out' / 'preds' / f'{image.stem}.png'), cv2.IMREAD_UNCHANGED)
        assert class_map.shape == original.shape[:2] and class_map.max() < len(cfg_classes(config))
        assert changed.mean() > 0.5


def cfg_classes(config: str) -> tuple:
    return load_config(str(ROOT / 'configs' / config)).classes
