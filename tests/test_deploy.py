"""Deploy mode (BN folded), ONNX export with onnxruntime parity, and the weight converter."""
import copy
import json
from collections import Counter

import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from mmghost.deploy import TensorOutputs, export_onnx, fuse_model
from mmghost.models import GhostNetV2
from oracle import copy_from_timm, official_checkpoint
from tools_helpers import ROOT, run_tool

SIZES = [(224, 224), (193, 257), (97, 131)]


@pytest.fixture(scope='module')
def backbone(timm_100):
    return copy_from_timm(timm_100, out_indices=(2, 4, 6, 9))


def test_fuse_removes_every_batchnorm_and_keeps_outputs(backbone):
    fused = fuse_model(copy.deepcopy(backbone))
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in fused.modules())
    assert not any(isinstance(m, nn.Sequential) and len(m) == 0 for m in fused.modules())
    short_conv = fused.blocks[3][0].ghost1.short_conv
    assert [type(m) for m in short_conv.children()] == [nn.Conv2d, nn.Identity] * 3  # three folds in the DFC branch
    assert fused.blocks[3][0].conv_dw.bias is not None and fused.conv_stem.bias is not None
    for size in SIZES:
        images = torch.randn(2, 3, *size)
        with torch.no_grad():
            for out, ref in zip(fused(images), backbone(images)):
                torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
            channels_last = fused.to(memory_format=torch.channels_last)(
                images.contiguous(memory_format=torch.channels_last))
            for out, ref in zip(channels_last, backbone(images)):
                torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)


def test_fuse_is_idempotent_and_returns_the_model(backbone):
    fused = fuse_model(copy.deepcopy(backbone))
    state = {k: v.clone() for k, v in fused.state_dict().items()}
    assert fuse_model(fused) is fused
    assert all(torch.equal(v, fused.state_dict()[k]) for k, v in state.items())


def test_fuse_refuses_a_model_in_training_mode():
    with pytest.raises(ValueError, match='eval'):
        fuse_model(GhostNetV2().train())


@pytest.mark.parametrize('deploy', [False, True], ids=['eager', 'fused'])
def test_onnx_backbone_matches_pytorch_on_three_sizes(backbone, tmp_path, deploy):
    model = fuse_model(copy.deepcopy(backbone)) if deploy else backbone
    path = str(tmp_path / 'backbone.onnx')
    export_onnx(model, torch.randn(1, 3, 224, 224), path)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    for size in [(224, 224), (160, 288), (97, 131)]:
        images = torch.randn(1, 3, *size)
        with torch.no_grad():
            expected = TensorOutputs(model)(images)
        actual = session.run(None, {'images': images.numpy()})
        assert len(actual) == 4
        for out, ref in zip(actual, expected):
            assert out.shape == tuple(ref.shape)
            torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-4, atol=1e-4)


def optimized_op_counts(path: str) -> Counter:
    """Node types of the graph as onnxruntime runs it (its extended graph optimizations applied)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = path + '.optimized'
    ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    return Counter(node.op_type for node in onnx.load(path + '.optimized').graph.node)


def test_static_onnx_backbone_has_fixed_shapes_and_no_shape_arithmetic(backbone, tmp_path):
    """``dynamic=False``: the input is one 193x257 image, and onnxruntime folds away the run-time size
    computation (Shape, Gather, Unsqueeze, Slice, Concat) of the 14 DFC up-samplings."""
    model = fuse_model(copy.deepcopy(backbone))
    paths = {dynamic: str(tmp_path / f'{dynamic}.onnx') for dynamic in (True, False)}
    images = torch.randn(1, 3, 193, 257)
    for dynamic, path in paths.items():
        export_onnx(model, images, path, dynamic=dynamic)
    graph = onnx.load(paths[False]).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 3, 193, 257]
    ops = {dynamic: optimized_op_counts(path) for dynamic, path in paths.items()}
    assert ops[True]['Resize'] == ops[False]['Resize'] == 14  # one per DFC gate
    assert ops[True]['Shape'] >= 14 and ops[False]['Shape'] == 0
    assert ops[False]['Concat'] < ops[True]['Concat']  # the Ghost concatenations remain
    session = ort.InferenceSession(paths[False], providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = TensorOutputs(model)(images)
    for out, ref in zip(session.run(None, {'images': images.numpy()}), expected):
        torch.testing.assert_close(torch.from_numpy(out), ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(Exception, match='images'):  # onnxruntime names the input whose size does not fit
        session.run(None, {'images': torch.randn(1, 3, 224, 224).numpy()})


def test_export_rejects_a_too_small_example(backbone, tmp_path):
    with pytest.raises(ValueError, match='H, W >= 64'):
        export_onnx(backbone, torch.randn(1, 3, 32, 64), str(tmp_path / 'x.onnx'))


# Runs the export tool and fails it if Python starts pip (converters such as MNN's console script do) or opens
# a network connection; the pnnx converter binary may run.
NO_PIP_OR_NETWORK = '''
import runpy, sys
def audit(event, args):
    command = ' '.join(map(str, args[1] if event == 'subprocess.Popen' and isinstance(args[1], (list, tuple))
                           else args[:1]))
    if event == 'socket.connect' or (event.startswith(('subprocess.Popen', 'os.system', 'os.posix_spawn'))
                                     and 'pip' in command):
        raise RuntimeError(f'the export tool must not start {event} {args!r}')
sys.addaudithook(audit)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
@pytest.mark.parametrize('config,part', [('retinanet_ghostnetv2_coco.py', 'model'),
                                         ('retinanet_ghostnetv2_coco.py', 'heads'),
                                         ('deeplabv3_ghostnetv2_os16_ade20k.py', 'model')])
def test_export_tool_verifies_detector_and_segmentor(tmp_path, config, part, backend):
    result = run_tool([ROOT / 'tools' / 'deployment' / 'export.py', ROOT / 'configs' / config, '--part', part,
                       '--shape', '128', '160', '--fuse', '--out', tmp_path / 'm.onnx', '--backend', backend,
                       '--verify'], tmp_path)
    # at --shape, and at a second size (the files take any size)
    assert f'{backend} vs PyTorch at 1x' in result.stdout and result.stdout.count('max difference') == 2
    assert (tmp_path / 'm.onnx').stat().st_size > 1e6
    if backend == 'openvino':  # fp32 weights: as large as the ONNX file's (fp16 would be half)
        assert (tmp_path / 'm.bin').stat().st_size > 0.9 * (tmp_path / 'm.onnx').stat().st_size
        assert (tmp_path / 'm.xml').is_file()
    outputs = [o.name for o in onnx.load(str(tmp_path / 'm.onnx')).graph.output]
    if part == 'heads':  # raw outputs: classification and regression maps of the five FPN levels
        assert outputs == [f'output{i}' for i in range(10)]
    else:
        assert outputs == (['boxes', 'scores', 'labels'] if 'retinanet' in config else ['class_map'])


@pytest.mark.parametrize('backend,written', [('ncnn', ['m.ncnn.param', 'm.ncnn.bin']), ('mnn', ['m.mnn']),
                                             ('litert', ['m.tflite'])])
def test_export_tool_writes_and_verifies_network_files(tmp_path, backend, written):
    """ncnn, MNN and LiteRT run no ONNX NMS: the tool writes the network with its metadata beside it, checks it
    against PyTorch (ncnn and MNN also at a second size), and starts no pip and no connection."""
    result = run_tool(['-c', NO_PIP_OR_NETWORK, ROOT / 'tools' / 'deployment' / 'export.py',
                       ROOT / 'configs' / 'retinanet_ghostnetv2_coco.py', '--shape', '128', '160', '--fuse',
                       '--out', tmp_path / 'm.onnx', '--backend', backend, '--verify'], tmp_path)
    assert f'{backend} runs no ONNX NMS' in result.stdout
    assert result.stdout.count(f'{backend} vs PyTorch at 1x3x') == (1 if backend == 'litert' else 2)
    assert all((tmp_path / name).is_file() for name in written)
    assert (tmp_path / written[-1]).stat().st_size > 1e6  # the weights (ncnn: the .bin beside the .param)
    with open(tmp_path / f'{written[0]}.json') as f:
        metadata = json.load(f)
    assert metadata['graph'] == 'network' and metadata['task'] == 'detection' and len(metadata['classes']) == 80
    assert len(metadata['network']['output_names']) == 10 and metadata['network']['head']['priors'] == 'anchor'


def test_export_tool_refuses_static_for_a_network_backend(tmp_path):
    result = run_tool([ROOT / 'tools' / 'deployment' / 'export.py', ROOT / 'configs' / 'retinanet_ghostnetv2_coco.py',
                       '--static', '--out', tmp_path / 'm.onnx', '--backend', 'ncnn'], tmp_path, check=False)
    assert result.returncode == 2 and '--static is for onnxruntime and openvino: ncnn files take any size' in \
        result.stderr


def test_converter_round_trips_an_official_checkpoint(tmp_path, timm_100):
    official_checkpoint(timm_100, tmp_path / 'ck_ghostnetv2_10.pth.tar')
    run_tool([ROOT / 'tools' / 'model_converters' / 'ghostnetv2_to_mmghost.py', tmp_path / 'ck_ghostnetv2_10.pth.tar',
              tmp_path / 'mmghost.pth'], tmp_path)
    converted = torch.load(tmp_path / 'mmghost.pth', weights_only=True)
    assert converted['meta']['widen_factor'] == 1.0
    assert not any(k.endswith(('total_ops', 'total_params')) or k.startswith('classifier')
                   for k in converted['state_dict'])
    model = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'mmghost.pth')))
    model.init_weights()
    for key, value in timm_100.state_dict().items():
        if not key.startswith(('conv_head', 'classifier')):
            assert torch.equal(model.state_dict()[key], value), key


def test_converter_refuses_another_width(tmp_path, timm_100):
    torch.save(timm_100.state_dict(), tmp_path / 'timm.pth')
    result = run_tool([ROOT / 'tools' / 'model_converters' / 'ghostnetv2_to_mmghost.py', tmp_path / 'timm.pth',
                       tmp_path / 'out.pth', '--widen-factor', '1.6'], tmp_path, check=False)
    assert result.returncode != 0
    assert 'first mismatching keys: conv_stem.weight: checkpoint (16, 3, 3, 3) vs model (24, 3, 3, 3)' in result.stderr
    assert not (tmp_path / 'out.pth').exists()
