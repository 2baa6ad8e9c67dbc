"""A deployed file opened with its runtime, on the CPU and in fp32 whatever the CPU would pick.

- ``onnxruntime``: an ``.onnx`` file, each session with its own thread pool (several sessions open in one
  process spin against each other; the demo opens one);
- ``openvino``: an ``.onnx`` file or OpenVINO IR ``.xml``, compiled with ``INFERENCE_PRECISION_HINT='f32'``
  (the default is bf16 on CPUs with native bf16);
- ``ncnn``: a ``.param`` file (with its ``.bin``), fp16 and bf16 storage and arithmetic turned off, input
  copied into a ``Mat`` that owns it;
- ``mnn``: an ``.mnn`` file, ``precision='high'`` (fp32) and small Winograd units (see below);
- ``litert``: a ``.tflite`` file, with ai-edge-litert's interpreter.

Each keeps the file's ``metadata`` and its ``fixed_hw`` (None where it takes any size).
"""
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .metadata import METADATA_KEY, parse_metadata, read_sidecar

BACKENDS = ('onnxruntime', 'openvino', 'ncnn', 'mnn', 'litert')
# MNN's Interpreter::HintMode WINOGRAD_MEMORY_LEVEL: 0 keeps 3x3 convs to small Winograd units; MNN's default
# large units give head outputs 30x PyTorch's fp32 error (boxes off by 1e-2 px)
MNN_WINOGRAD_MEMORY_LEVEL, MNN_SMALL_WINOGRAD_UNITS = 3, 0


class DeployedModel:
    """A model file opened with one runtime: ``metadata`` (None for a file without it, where not
    required), ``fixed_hw`` (H, W) where the input size is fixed, and :meth:`run`.

    End-to-end files take (N, H, W, 3) uint8 images; network files (1, 3, H, W) float32.
    """

    metadata: Optional[dict]
    fixed_hw: Optional[Tuple[int, int]] = None

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        """The outputs of the file's graph for ``inputs``."""
        raise NotImplementedError

    def check_size(self, inputs: np.ndarray, height_axis: int) -> None:
        """Refuse an input whose height and width are not the file's fixed size, naming both sizes."""
        size = tuple(inputs.shape[height_axis:height_axis + 2])
        if self.fixed_hw is not None and size != self.fixed_hw:
            raise ValueError(f'the input is {size[0]}x{size[1]}, but the model file takes only '
                             f'{self.fixed_hw[0]}x{self.fixed_hw[1]}')


def _fixed_hw(shape: Sequence[Any], height_axis: int) -> Optional[Tuple[int, int]]:
    height, width = shape[height_axis], shape[height_axis + 1]
    return (int(height), int(width)) if isinstance(height, int) and isinstance(width, int) else None


def _height_axis(metadata: Optional[dict]) -> int:
    """Where height is in the input: (N, H, W, 3) end-to-end files, (N, 3, H, W) network files."""
    return 2 if metadata is None or metadata.get('graph') == 'network' else 1


class OnnxRuntimeModel(DeployedModel):
    """An ``.onnx`` file in onnxruntime (CPU)."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.metadata = parse_metadata(self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY), path,
                                       require_metadata)
        self.input_name = self.session.get_inputs()[0].name
        self.fixed_hw = _fixed_hw(self.session.get_inputs()[0].shape, _height_axis(self.metadata))

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: inputs})


def openvino_config(threads: int = 0) -> dict:
    """OpenVINO's CPU settings for a deployed file: fp32, not bf16 as on CPUs with native bf16 by default.

    Args:
        threads: Inference threads; 0 for OpenVINO's default.
    """
    config = {'INFERENCE_PRECISION_HINT': 'f32'}
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    return config


class OpenVINOModel(DeployedModel):
    """An ``.onnx`` file or OpenVINO IR (``.xml``) in OpenVINO on the CPU, in fp32."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import openvino as ov
        core = ov.Core()
        model = core.read_model(path)
        # ONNX metadata is read under 'framework'; export.py --backend openvino keeps it there in the IR
        key = ['framework', METADATA_KEY]
        self.metadata = parse_metadata(model.get_rt_info(key).astype(str) if model.has_rt_info(key) else None,
                                       path, require_metadata)
        shape = model.inputs[0].get_partial_shape()
        axis = _height_axis(self.metadata)
        self.fixed_hw = (shape[axis].get_length(), shape[axis + 1].get_length()) if shape.is_static else None
        self.compiled = core.compile_model(model, 'CPU', openvino_config(threads))

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        results = self.compiled(inputs)
        return [np.asarray(results[output]) for output in self.compiled.outputs]


class NcnnModel(DeployedModel):
    """An ncnn ``.param`` file (weights in the ``.bin`` of the same stem) in fp32, with its ``FILE.json``."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import ncnn
        self.metadata = read_sidecar(path, require_metadata)
        self.net = ncnn.Net()
        for option in ('use_fp16_packed', 'use_fp16_storage', 'use_fp16_arithmetic', 'use_bf16_storage'):
            setattr(self.net.opt, option, False)  # fp16 storage is the default where the CPU has it
        if threads:
            self.net.opt.num_threads = threads
        weights = osp.splitext(path)[0] + '.bin'
        if self.net.load_param(path) != 0 or self.net.load_model(weights) != 0:
            raise ValueError(f'ncnn cannot load {path!r} with {weights!r}')
        names = (self.metadata or {}).get('network', {})
        self.input_name = names.get('input_name', 'in0')
        self.output_names = names.get('output_names') or [f'out{i}' for i in range(len(self.net.output_names()))]

    def extractor(self, inputs: np.ndarray):
        """A new ``ncnn.Extractor`` of the net, fed ``inputs`` (one image, (1, C, H, W))."""
        import ncnn
        if inputs.ndim != 4 or inputs.shape[0] != 1:
            raise ValueError(f'ncnn files take one image (1, C, H, W), got an input of shape {inputs.shape}')
        extractor = self.net.create_extractor()
        # a Mat made from an array does not own its buffer: clone() copies it before the array can go
        extractor.input(self.input_name, ncnn.Mat(np.ascontiguousarray(inputs[0], dtype=np.float32)).clone())
        return extractor

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        extractor = self.extractor(inputs)
        outputs = []
        for name in self.output_names:
            status, mat = extractor.extract(name)
            if status != 0:
                raise RuntimeError(f'ncnn could not compute output {name!r} (status {status})')
            outputs.append(np.array(mat, dtype=np.float32)[None])
        return outputs


def mnn_config(threads: int = 0) -> dict:
    """MNN's CPU settings for a deployed file: ``precision='high'`` (fp32).

    Args:
        threads: Threads; 0 for MNN's default.
    """
    config = {'backend': 'CPU', 'precision': 'high'}
    if threads:
        config['numThread'] = threads
    return config


class MNNModel(DeployedModel):
    """An ``.mnn`` file in MNN on the CPU with ``precision='high'`` (fp32), with its ``FILE.json``."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        import MNN
        self.metadata = read_sidecar(path, require_metadata)
        runtime = MNN.nn.create_runtime_manager((mnn_config(threads), ))
        runtime.set_hint(MNN_WINOGRAD_MEMORY_LEVEL, MNN_SMALL_WINOGRAD_UNITS)
        names = (self.metadata or {}).get('network', {})
        self.expr = MNN.expr
        self.net = MNN.nn.load_module_from_file(path, [names.get('input_name', 'images')],
                                                names.get('output_names') or [], runtime_manager=runtime)

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        expr = self.expr
        inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        outputs = self.net.forward([expr.const(inputs, list(inputs.shape), expr.NCHW)])
        results = []
        for output in outputs:
            output = expr.convert(output, expr.NCHW)
            results.append(np.array(output.read(), dtype=np.float32, copy=True).reshape(output.shape))
        return results


class LiteRTModel(DeployedModel):
    """A ``.tflite`` file (fixed input size) in ai-edge-litert's interpreter, with its ``FILE.json``."""

    def __init__(self, path: str, threads: int = 0, require_metadata: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter
        self.metadata = read_sidecar(path, require_metadata)
        interpreter = Interpreter(model_path=path, num_threads=threads or None)
        signature = next(iter(interpreter.get_signature_list().values()))
        self.input_name = signature['inputs'][0]
        # output_0, output_1, ...: the order of the exported module's outputs
        self.output_names = sorted(signature['outputs'], key=lambda name: int(name.rsplit('_', 1)[-1]))
        self.runner = interpreter.get_signature_runner()
        shape = interpreter.get_input_details()[0]['shape']
        self.fixed_hw = _fixed_hw([int(n) for n in shape], _height_axis(self.metadata))

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        self.check_size(inputs, 2)
        results = self.runner(**{self.input_name: np.ascontiguousarray(inputs, dtype=np.float32)})
        return [np.array(results[name]) for name in self.output_names]


MODELS = dict(onnxruntime=OnnxRuntimeModel, openvino=OpenVINOModel, ncnn=NcnnModel, mnn=MNNModel,
              litert=LiteRTModel)


def open_model(path: str, backend: str = 'onnxruntime', threads: int = 0,
               require_metadata: bool = True) -> DeployedModel:
    """Open a file written by ``tools/deployment/export.py`` with ``backend`` (one of :data:`BACKENDS`);
    without ``require_metadata``, also a file without mmghost metadata (``--part backbone``)."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'model file {path!r} does not exist')
    return MODELS[backend](path, threads, require_metadata)
