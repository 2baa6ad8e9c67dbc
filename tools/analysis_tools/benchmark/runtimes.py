"""onnxruntime sessions (float, and after static int8 quantization) and per-operator profiles (torch,
onnxruntime, OpenVINO)."""
import json
import os
from typing import Callable, Dict, Optional, Tuple

import torch

from mmghost.deploy import INPUT_NAME

CALIBRATION_BATCHES = 4  # random inputs that calibrate the int8 activations
# onnxruntime.quantization.quantize_static settings of the int8 files (enum members by name)
QUANTIZATION = dict(quant_format='QOperator', per_channel=True, activation_type='QUInt8', weight_type='QInt8')
OPENVINO_PROFILE_RUNS = 10  # OpenVINO's counters: the mean of these runs after an untimed one
PROFILERS = {'torch': 'torch.profiler, one run', 'onnxruntime': "onnxruntime's profiler, one run",
             'openvino': f"OpenVINO's performance counters, mean of {OPENVINO_PROFILE_RUNS} runs"}  # by runtime
TOP_OPS = 8  # the most expensive operators of GhostNetV2 in a profile's table
OpTimes = Dict[str, Dict[str, float]]  # per operator: ms (self time) and calls


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


def onnxruntime_profile(path: str, images: torch.Tensor, threads: int, profile_prefix: str) -> OpTimes:
    """Kernel time and calls per operator type over one run of an ONNX file (after one untimed run).

    Args:
        path: The ONNX file.
        images: The input batch.
        threads: Intra-op threads.
        profile_prefix: Where the profile is written (and deleted once read).
    """
    session = cpu_session(path, threads, profile_prefix)
    run = session_runner(session, images)
    run()
    run()
    trace_path = session.end_profiling()
    with open(trace_path) as f:
        events = json.load(f)
    os.remove(trace_path)
    last_run = max(e['ts'] for e in events if e.get('name') == 'model_run')
    ops: OpTimes = {}
    for event in events:
        if event.get('cat') == 'Node' and event['name'].endswith('_kernel_time') and event['ts'] >= last_run:
            op = ops.setdefault(event['args']['op_name'], dict(ms=0.0, calls=0))
            op['ms'] += event['dur'] / 1000
            op['calls'] += 1
    return ops


def openvino_profile(path: str, images: torch.Tensor, threads: int, runs: int = OPENVINO_PROFILE_RUNS) -> OpTimes:
    """Mean time and calls per operator type over ``runs`` runs (after an untimed one), by OpenVINO's counters.

    The file is compiled as ``mmghost_runtime`` compiles it, with ``PERF_COUNT`` on. The CPU plugin's counters
    hold each node's mean time since compilation, so the first run's time is taken out of the final mean.

    Args:
        path: The OpenVINO IR or ONNX file.
        images: The input batch.
        threads: Inference threads.
        runs: The runs averaged.
    """
    import openvino as ov

    from mmghost_runtime.backends import openvino_config
    request = ov.Core().compile_model(path, 'CPU', dict(openvino_config(threads), PERF_COUNT=True)) \
        .create_infer_request()
    inputs = images.numpy()

    def node_ms() -> Dict[str, Tuple[str, float]]:
        return {info.node_name: (info.node_type, info.real_time.total_seconds() * 1000)
                for info in request.profiling_info if info.status == ov.ProfilingInfo.Status.EXECUTED}

    request.infer(inputs)
    first = node_ms()
    for _ in range(runs):
        request.infer(inputs)
    ops: OpTimes = {}
    for name, (node_type, mean_ms) in node_ms().items():
        op = ops.setdefault(node_type, dict(ms=0.0, calls=0))
        # the counters are whole microseconds: a node of under 1 us can come out a rounding below zero
        op['ms'] += max(((runs + 1) * mean_ms - first.get(name, (node_type, 0.0))[1]) / runs, 0.0)
        op['calls'] += 1
    return ops


def torch_profile(run: Callable[[], object]) -> OpTimes:
    """Self CPU time and calls per operator over one run (after one untimed run), by torch.profiler.

    Args:
        run: The run of the model.
    """
    with torch.inference_mode():
        run()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            run()
    return {event.key: dict(ms=event.self_cpu_time_total / 1000, calls=event.count)
            for event in prof.key_averages() if event.self_cpu_time_total > 0}


def compare_ops(ours: OpTimes, twin: OpTimes, top: int = TOP_OPS) -> dict:
    """The operators that cost GhostNetV2 most beside the twin's, and the one with the largest excess.

    Args:
        ours: GhostNetV2's profile.
        twin: The twin's profile.
        top: How many operators go into the table.
    """
    names = sorted(ours, key=lambda k: -ours[k]['ms'])[:top]
    empty = dict(ms=0.0, calls=0)
    table = [dict(op=name, ours_ms=ours[name]['ms'], ours_calls=ours[name]['calls'],
                  twin_ms=twin.get(name, empty)['ms'], twin_calls=twin.get(name, empty)['calls']) for name in names]
    excess = {name: ours[name]['ms'] - twin.get(name, empty)['ms'] for name in ours}
    worst = max(excess, key=excess.get)
    return dict(top=table, largest_excess_op=worst, largest_excess_ms=excess[worst],
                ours_total_ms=sum(v['ms'] for v in ours.values()), twin_total_ms=sum(v['ms'] for v in twin.values()))
