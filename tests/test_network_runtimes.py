"""Network files (the network only; box decoding, NMS and the class-map resize run in mmghost_runtime's
NumPy) against PyTorch ``predict``: ncnn, MNN and LiteRT files, and ONNX ``--part heads`` files in
onnxruntime; sizes other than the traced one; and the runtime-only demo for each runtime."""
import json
from functools import lru_cache

import cv2
import numpy as np
import pytest
import torch
from mmdet.models.utils import filter_scores_and_topk as mmdet_filter_scores_and_topk
from mmcv.ops import nms as mmcv_nms

import mmghost_runtime as runtime
from mmghost.deploy import TensorOutputs, export_ncnn, export_network
from mmghost.deploy.network_metadata import head_metadata, preprocess_metadata
from mmghost.models import GhostNetV2
from mmghost_runtime.detection import decode, filter_scores_and_topk, grid_priors, nms
from mmghost_runtime.predict import network_class_map
from mmghost_runtime.preprocess import normalize, prepare
from mmghost_runtime.segmentation import resize_bilinear
from deploy_helpers import DETECTORS, SEGMENTOR, WITHOUT_TORCH, detections_match_pytorch, torch_predict, trained_model
from tools_helpers import ROOT, run_tool

NETWORK_BACKENDS = ('onnxruntime', 'ncnn', 'mnn', 'litert')
DEMO = ROOT / 'demo' / 'deploy_demo.py'
# the traced size: what each test pipeline gives the demo images (LiteRT files keep it; the others take any)
SHAPES = {DETECTORS[0]: (320, 320), DETECTORS[1]: (320, 320), DETECTORS[2]: (640, 640), SEGMENTOR: (160, 160)}


@lru_cache(maxsize=None)
def built(config: str, images: tuple):
    """The trained-ish model of ``config`` (built once per session and config)."""
    return trained_model(config, list(images))


@pytest.fixture(scope='session')
def square_det_images(det_images, tmp_path_factory) -> list:
    """The demo images cropped square: the test pipelines resize them to the size of a LiteRT file, which
    is fixed (PyTorch on a smaller image sees less padding, and so slightly other features at the border)."""
    return square_crops(det_images, tmp_path_factory.mktemp('square_det'))


@pytest.fixture(scope='session')
def square_seg_images(seg_images, tmp_path_factory) -> list:
    return square_crops(seg_images, tmp_path_factory.mktemp('square_seg'))


def square_crops(images: list, folder) -> list:
    paths = []
    for path in images:
        image = cv2.imread(str(path))
        side = min(image.shape[:2])
        paths.append(folder / f'{path.stem}.png')
        cv2.imwrite(str(paths[-1]), image[:side, :side])
    return paths


def exported(config: str, images: list, backend: str, tmp_path) -> tuple:
    cfg, model, pipeline = built(config, tuple(images))
    path = export_network(model, cfg, backend, str(tmp_path / 'model.onnx'), SHAPES[config])
    return cfg, model, pipeline, runtime.open_model(path, backend)


@pytest.mark.parametrize('backend', NETWORK_BACKENDS)
@pytest.mark.parametrize('config', DETECTORS)
def test_detector_network_file_reproduces_pytorch_predict(tmp_path, det_images, square_det_images, config, backend):
    cfg, model, pipeline, deployed = exported(config, det_images, backend, tmp_path)
    images = square_det_images if backend == 'litert' else det_images
    assert deployed.metadata['graph'] == 'network' and deployed.metadata['task'] == 'detection'
    assert (deployed.fixed_hw == SHAPES[config]) if backend == 'litert' else deployed.fixed_hw is None
    assert min(detections_match_pytorch(deployed, model, pipeline, images)) > 0


@pytest.mark.parametrize('backend', NETWORK_BACKENDS)
def test_segmentor_network_file_reproduces_pytorch_predict(tmp_path, seg_images, square_seg_images, backend):
    cfg, model, pipeline, deployed = exported(SEGMENTOR, seg_images, backend, tmp_path)
    assert deployed.metadata['task'] == 'segmentation' and deployed.metadata['classes'] == list(cfg.classes)
    for path in square_seg_images if backend == 'litert' else seg_images:
        inputs, _, resized_hw = prepare(cv2.imread(str(path)), deployed.metadata)
        expected, _ = torch_predict(model, pipeline, path, ori_shape=resized_hw)
        reference = expected.pred_sem_seg.data[0].numpy()
        class_map = network_class_map(deployed, inputs)[0][:resized_hw[0], :resized_hw[1]]
        assert class_map.shape == reference.shape and len(np.unique(reference)) > 1
        assert (class_map == reference).mean() >= 0.999


@pytest.mark.parametrize('backend', ['ncnn', 'mnn'])
def test_dynamic_network_files_are_right_at_other_sizes(tmp_path, det_images, backend):
    """Traced at 320x320 (ncnn: with a second size), right at sizes that are not multiples of the strides."""
    _, model, _, deployed = exported(DETECTORS[0], det_images, backend, tmp_path)
    reference = TensorOutputs(model).eval()
    image = cv2.imread(str(det_images[0]))
    for height, width in [(320, 320), (97, 131), (256, 352)]:
        # a real image: random inputs drive the trained-ish network far outside its statistics
        resized = cv2.resize(image, (width, height))[None]
        images = torch.from_numpy(normalize(resized, deployed.metadata['network']))
        with torch.no_grad():
            expected = [t.numpy() for t in reference(images)]
        actual = deployed.run(images.numpy())
        assert [a.shape for a in actual] == [e.shape for e in expected]
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_litert_file_refuses_another_size(tmp_path, det_images):
    _, _, _, deployed = exported(DETECTORS[0], det_images, 'litert', tmp_path)
    with pytest.raises(ValueError, match=r'the input is 288x320, but the model file takes only 320x320'):
        deployed.run(np.zeros((1, 3, 288, 320), np.float32))
    large = np.zeros((400, 400, 3), np.uint8)
    metadata = dict(deployed.metadata, resize=None)  # a 400x400 image that the pipeline would not resize
    deployed.metadata = metadata
    with pytest.raises(ValueError, match=r'prepared image is \d+x\d+, larger than the fixed 320x320 input'):
        runtime.detect(deployed, large)


@pytest.mark.parametrize('backend', NETWORK_BACKENDS)
def test_backbone_file_matches_pytorch_where_the_gate_is_not_a_2x_up_sampling(tmp_path, backend):
    """At 224x224 the stride-32 DFC gates go from 3x3 to 7x7, where LiteRT's own nearest resize repeats other
    rows than PyTorch (relative error 5e-3 before the export gathered PyTorch's indices)."""
    backbone = GhostNetV2(out_indices=(9, )).eval()
    for module in backbone.modules():  # random statistics, so that every gate matters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.5, 0.5)
    path = export_network(backbone, None, backend, str(tmp_path / 'm.onnx'), (224, 224))
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected = backbone(images)[0].numpy()
    actual = runtime.open_model(path, backend, require_metadata=False).run(images.numpy())[0]
    assert float(np.abs(actual - expected).max() / np.abs(expected).max()) < 1e-4


def test_ncnn_export_needs_a_second_size(tmp_path, det_images):
    _, model, _ = built(DETECTORS[0], tuple(det_images))
    example = torch.randn(1, 3, 128, 128)
    with pytest.raises(ValueError, match=r'another height and width than example, both are \(128, 128\)'):
        export_ncnn(model, example, example.clone(), str(tmp_path / 'x.ncnn.param'))


def test_network_files_keep_fp32_weights(tmp_path, det_images):
    """pnnx stores fp16 by default and litert-torch can: each file is about as large as the fp32 ONNX file."""
    _, model, _ = built(DETECTORS[0], tuple(det_images))
    paths = {backend: export_network(model, None, backend, str(tmp_path / 'm.onnx'), (128, 128))
             for backend in ('mnn', 'ncnn', 'litert')}
    onnx_size = (tmp_path / 'm.onnx').stat().st_size  # written for MNN
    weights = {'mnn': paths['mnn'], 'ncnn': str(tmp_path / 'm.ncnn.bin'), 'litert': paths['litert']}
    for backend, path in weights.items():
        size = (tmp_path / path).stat().st_size
        assert size > 0.9 * onnx_size, f'{backend}: {size} bytes, the fp32 ONNX file {onnx_size}'


@pytest.mark.parametrize('config,backend', [(DETECTORS[0], 'ncnn'), (DETECTORS[0], 'mnn'), (DETECTORS[0], 'litert'),
                                            (SEGMENTOR, 'ncnn'), (SEGMENTOR, 'mnn')])
def test_demo_draws_network_files_without_torch(tmp_path, det_images, seg_images, config, backend):
    """The demo runs the file with the runtime, NumPy and OpenCV only: no torch, no process, no connection."""
    images = det_images if config in DETECTORS else seg_images
    _, _, _, deployed = exported(config, images, backend, tmp_path)
    model_file = {'ncnn': 'model.ncnn.param', 'mnn': 'model.mnn', 'litert': 'model.tflite'}[backend]
    image = images[0]
    run_tool(['-c', WITHOUT_TORCH, DEMO, image, tmp_path / model_file, '--backend', backend, '--out-dir',
              tmp_path / 'out', '--score-thr', '0.5'], tmp_path)
    original = cv2.imread(str(image))
    drawn = cv2.imread(str(tmp_path / 'out' / 'vis' / f'{image.stem}.png'))
    assert drawn.shape == original.shape and (drawn != original).any()
    if config in DETECTORS:
        with open(tmp_path / 'out' / 'preds' / f'{image.stem}.json') as f:
            predictions = json.load(f)
        expected = runtime.detect(deployed, original)
        np.testing.assert_allclose(predictions['bboxes'], expected['bboxes'], rtol=1e-5, atol=1e-3)
        assert predictions['labels'] == expected['labels'].tolist()
    else:
        class_map = cv2.imread(str(tmp_path / 'out' / 'preds' / f'{image.stem}.png'), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(class_map, runtime.segment(deployed, original))


@pytest.mark.parametrize('config', DETECTORS)
def test_numpy_priors_and_boxes_are_mmdet_s(config, det_images):
    _, model, _ = built(config, tuple(det_images))
    head = model.bbox_head
    outputs = 3 if config == DETECTORS[1] else 2 * head.prior_generator.num_levels
    description = head_metadata(head, outputs)
    sizes = [(13, 17), (7, 9), (4, 5), (2, 3), (1, 2)][:head.prior_generator.num_levels]
    expected = head.prior_generator.grid_priors(sizes, device='cpu')
    for numpy_priors, mmdet_priors in zip(grid_priors(description, sizes), expected):
        np.testing.assert_array_equal(numpy_priors, mmdet_priors.numpy()[:, :numpy_priors.shape[1]])
    priors = grid_priors(description, sizes)[0]
    generator = torch.Generator().manual_seed(0)
    deltas = torch.rand(len(priors), 4, generator=generator) * 3
    strides = np.full((len(priors), 1), description['strides'][0][0], np.float32)
    if description['coder']['type'] == 'YOLOBBoxCoder':
        reference = head.bbox_coder.decode(torch.from_numpy(priors), deltas, torch.from_numpy(strides))
    else:
        reference = head.bbox_coder.decode(torch.from_numpy(priors), deltas)
    reference = reference.tensor if hasattr(reference, 'tensor') else reference
    np.testing.assert_allclose(decode(description['coder'], priors, deltas.numpy(), strides), reference.numpy(),
                               rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize('topk', [7, 1000, -1])
def test_numpy_filter_scores_and_topk_is_mmdet_s(topk):
    scores = torch.rand(50, 3, generator=torch.Generator().manual_seed(0))
    values, priors, labels = filter_scores_and_topk(scores.numpy(), 0.6, topk)
    expected, expected_labels, expected_priors, _ = mmdet_filter_scores_and_topk(scores, 0.6, topk)
    np.testing.assert_array_equal(values, expected.numpy())
    np.testing.assert_array_equal(priors, expected_priors.numpy())
    np.testing.assert_array_equal(labels, expected_labels.numpy())


@pytest.mark.parametrize('iou_threshold', [0.3, 0.5, 0.7])
def test_numpy_nms_is_mmcv_s(iou_threshold):
    generator = torch.Generator().manual_seed(1)
    corners = torch.rand(300, 2, generator=generator) * 100
    boxes = torch.cat([corners, corners + 5 + torch.rand(300, 2, generator=generator) * 30], 1)
    scores = torch.rand(300, generator=generator)
    _, expected = mmcv_nms(boxes, scores, iou_threshold)
    np.testing.assert_array_equal(nms(boxes.numpy(), scores.numpy(), iou_threshold), expected.numpy())


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size', [(64, 80), (13, 7)])
def test_numpy_resize_is_torch_s(align_corners, size):
    logits = torch.randn(1, 5, 16, 20, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.interpolate(logits, size=size, mode='bilinear', align_corners=align_corners)
    np.testing.assert_allclose(resize_bilinear(logits[0].numpy(), size, align_corners), expected[0].numpy(),
                               rtol=1e-5, atol=1e-5)


def test_numpy_normalize_is_the_data_preprocessor_s(det_images):
    _, model, _ = built(DETECTORS[0], tuple(det_images))
    image = cv2.imread(str(det_images[0]))[:100, :130]
    expected = model.data_preprocessor(dict(inputs=[torch.from_numpy(image).permute(2, 0, 1)]), False)['inputs']
    np.testing.assert_allclose(normalize(image[None], preprocess_metadata(model)), expected.numpy(), atol=1e-5)
