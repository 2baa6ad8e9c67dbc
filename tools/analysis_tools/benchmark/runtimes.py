"""onnxruntime sessions: float, and after static int8 quantization."""
from typing import Callable, Optional

import torch

from mmghost.deploy import INPUT_NAME

CALIBRATION_BATCHES = 4  # random inputs that calibrate the int8 activations
# onnxruntime.quantization.quantize_static settings of the int8 files (enum members by name)
QUANTIZATION = dict(quant_format='QOperator', per_channel=True, activation_type='QUInt8', weight_type='QInt8')


def cpu_session(path: str, threads: int, profile_prefix: Optional[str] = None):
    """An onnxruntime session on an ONNX file, CPU provider, with onnxruntime's default threading.

    The idle threads of its intra-op pool spin for a while after each run, as in a deployment. The timing
    (:func:`.timing.time_interleaved`) pauses before each contender's turn, so one session's spinning threads
    never take the cores of the other's runs. Turning spinning off instead (``session.intra_op.allow_spinning=0``)
    costs every operator a thread wake-up: at 2 threads on 2 cores it made GhostNetV2's backbone (338 compute
    nodes in its ONNX file, the twin's 97) 1.4x slower and the twin 1.2x.

    Args:
        path: The ONNX file.
        threads: Intra-op threads.
        profile_prefix: Profile the session into files with this prefix. Defaults to None (no profile).
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def session_runner(session, images: torch.Tensor) -> Callable[[], object]:
    """One run of an onnxruntime session on ``images``.

    Args:
        session: The onnxruntime session.
        images: The input batch (on the CPU).
    """
    feed = {session.get_inputs()[0].name: images.numpy()}
    return lambda: session.run(None, feed)


def int8_session(path: str, example: torch.Tensor, threads: int):
    """An onnxruntime session on the static int8 quantization (:data:`QUANTIZATION`) of a float ONNX file.

    Args:
        path: The float ONNX file; the quantized files are written beside it.
        example: An input of the size to calibrate at (:data:`CALIBRATION_BATCHES` random ones).
        threads: Intra-op threads.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    generator = torch.Generator().manual_seed(0)

    class RandomImages(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{INPUT_NAME: torch.randn(example.shape, generator=generator).numpy()}
                                 for _ in range(CALIBRATION_BATCHES)])

        def get_next(self) -> Optional[dict]:
            return next(self.batches, None)

    settings = dict(QUANTIZATION, quant_format=QuantFormat[QUANTIZATION['quant_format']],
                    activation_type=QuantType[QUANTIZATION['activation_type']],
                    weight_type=QuantType[QUANTIZATION['weight_type']])
    prepared, quantized = path.replace('.onnx', '-prepared.onnx'), path.replace('.onnx', '-int8.onnx')
    quant_pre_process(path, prepared, skip_symbolic_shape=True)  # symbolic inference fails on some heads
    quantize_static(prepared, quantized, RandomImages(), **settings)
    return cpu_session(quantized, threads)
