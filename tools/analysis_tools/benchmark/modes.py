"""The modes each contender is timed in: what each runs, on which runtime, and which are targets.

The inference rows, the profiles and the report's descriptions of the modes all come from :data:`MODES`.
"""
from dataclasses import dataclass
from typing import Dict, List

from .runtimes import CALIBRATION_BATCHES, QUANTIZATION


@dataclass(frozen=True)
class Mode:
    """One way of running a model.

    Args:
        runtime: ``'torch'`` (on ``--device``), or a runtime of ``mmghost_runtime.BACKENDS`` on the CPU
            (``onnxruntime``: its CPU provider); each has a per-operator profiler (:data:`.profiles.PROFILERS`).
        description: What runs, for the report.
        target: GhostNetV2 is to be at least as fast as its twin here; rows where it is not are profiled (on the
            CPU).
        optional: Only for the cases named by ``--int8``.
        static: The file's input is fixed to the size timed (``export.py --static``).
    """
    runtime: str
    description: str
    target: bool = False
    optional: bool = False
    static: bool = False


INT8_MODE = 'onnxruntime int8'
MODES: Dict[str, Mode] = {
    'eager': Mode('torch', "the model's tensor forward (backbone, neck and head; no box decoding/NMS, no resizing "
                  'of logits), eval mode'),
    'deploy': Mode('torch', 'BatchNorm folded into the convs of backbone, neck and head, weights and input '
                   'channels_last', target=True),
    'onnxruntime': Mode('onnxruntime', 'the deploy model after the exact graph rewrites '
                        '(`mmghost.deploy.rewrite_for_onnxruntime`) exported by `mmghost.deploy.export_onnx` (dynamic '
                        "batch, height and width), as `export.py` writes it, run by onnxruntime's CPU provider",
                        target=True),
    'onnxruntime static': Mode('onnxruntime', 'the same export with the input shape fixed (`export.py '
                               '--static`), which lets onnxruntime fold the shape arithmetic of every resize, '
                               'with the DFC gates up-sampled by integer scales where the sizes allow',
                               target=True, static=True),
    'onnxruntime plain': Mode('onnxruntime', 'the deploy model exported without the graph rewrites (`export.py '
                              '--no-rewrite`), dynamic size'),
    'openvino': Mode('openvino', 'the plain ONNX file (dynamic size) compiled by OpenVINO for the CPU in f32 '
                     '(`mmghost_runtime.open_model`)', target=True),
    'openvino static': Mode('openvino', 'the same with the input shape fixed (`export.py --backend openvino '
                            '--static`), which OpenVINO compiles for that shape', target=True, static=True),
    'ncnn': Mode('ncnn', 'the ncnn file of `export.py --backend ncnn` (pnnx, fp32 weights, any size), fp16 and '
                 'bf16 off', target=True),
    'mnn': Mode('mnn', "the MNN file converted from the plain ONNX file, `precision='high'`, small Winograd units",
                target=True),
    'litert': Mode('litert', 'the LiteRT file of litert-torch, fixed to the input size, in ai-edge-litert with '
                   'its default (XNNPACK) delegate', target=True),
    INT8_MODE: Mode('onnxruntime', "the onnxruntime file after onnxruntime's `quantize_static` ("
                    + ', '.join(f'{key}={value}' for key, value in QUANTIZATION.items())
                    + f'), calibrated on {CALIBRATION_BATCHES} random inputs of the size timed; its outputs are '
                    'not expected to equal eager', optional=True),
}


def modes_of(int8: bool, device: str) -> List[str]:
    """The modes a case runs in, in the order of :data:`MODES`.

    Args:
        int8: The case is named by ``--int8``.
        device: ``'cpu'``, or ``'cuda'`` for the torch modes only.
    """
    return [name for name, mode in MODES.items()
            if (int8 or not mode.optional) and (device == 'cpu' or mode.runtime == 'torch')]


def float_modes() -> List[str]:
    """The modes whose outputs are to equal eager's: every one but the optional (quantized) ones."""
    return [name for name, mode in MODES.items() if not mode.optional]
