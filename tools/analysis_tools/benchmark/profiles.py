"""Per-operator profiles of one run of a model, by the profiler of each runtime (:data:`PROFILERS`), and the
comparison of GhostNetV2's profile with its twin's."""
import json
import os
import statistics
import time
from collections import Counter
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch

from .runtimes import cpu_session, session_runner

PROFILE_RUNS = 10  # OpenVINO, ncnn, MNN and LiteRT: the mean of these runs after an untimed one
OVERHEAD_CALLS = 20  # ncnn and LiteRT: calls that compute nothing, whose median is the cost of one call
PROFILERS = {  # by runtime, for the report
    'torch': 'torch.profiler, one run',
    'onnxruntime': "onnxruntime's profiler, one run",
    'openvino': f"OpenVINO's performance counters, mean of {PROFILE_RUNS} runs",
    'ncnn': f'each layer timed on its own as its output is extracted in order, less the cost of an extraction '
            f'call, mean of {PROFILE_RUNS} runs',
    'mnn': f"MNN's per-operator callbacks in its session API, mean of {PROFILE_RUNS} runs",
    'litert': f'each operator cut out into a file of its own (a PAD with the conv it feeds) and run on the values '
              f'it gets in a run of the whole file, less the cost of running a file without operators, mean of '
              f'{PROFILE_RUNS} runs',
}
TOP_OPS = 8  # the most expensive operators of GhostNetV2 in a profile's table
OpTimes = Dict[str, Dict[str, float]]  # per operator: ms (self time) and calls


def _add(ops: OpTimes, op: str, ms: float) -> None:
    entry = ops.setdefault(op, dict(ms=0.0, calls=0))
    entry['ms'] += ms
    entry['calls'] += 1


def _per_type(timed: Sequence[Tuple[str, float]], total_seconds: Dict[str, float], runs: int) -> OpTimes:
    """Mean ms per operator type over ``runs`` runs, and the calls of one run.

    Args:
        timed: (operator type, seconds) of each call in one run.
        total_seconds: Seconds per operator type over all ``runs``.
        runs: The runs summed in ``total_seconds``.
    """
    calls = Counter(op for op, _ in timed)
    return {op: dict(ms=max(seconds * 1000 / runs, 0.0), calls=calls[op]) for op, seconds in total_seconds.items()}


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
            _add(ops, event['args']['op_name'], event['dur'] / 1000)
    return ops


def openvino_profile(path: str, images: torch.Tensor, threads: int, runs: int = PROFILE_RUNS) -> OpTimes:
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
        # the counters are whole microseconds: a node of under 1 us can come out a rounding below zero
        _add(ops, node_type, max(((runs + 1) * mean_ms - first.get(name, (node_type, 0.0))[1]) / runs, 0.0))
    return ops


def ncnn_profile(path: str, images: torch.Tensor, threads: int, runs: int = PROFILE_RUNS) -> OpTimes:
    """Mean time and calls per layer type over ``runs`` runs (after an untimed one) of an ncnn file.

    ncnn's Python package has no profiler, but its extractor computes only the layers that a requested blob
    still needs. Requesting each layer's output in the file's (topological) order therefore runs one layer per
    call, on the settings of ``mmghost_runtime`` (fp32, light mode) and without unpacking the blob. Each time is
    less the median cost of a call that computes nothing (an already computed blob, about 10 us on the
    benchmark's machine). What the Python loop between layers costs beyond that is in the layers' times, so
    read the profile for how the operators compare, not for the total.

    Args:
        path: The ``.param`` file (weights in the ``.bin`` of the same stem).
        images: One input image (1, 3, H, W).
        threads: Threads.
        runs: The runs averaged.
    """
    from mmghost_runtime.backends import NcnnModel
    model = NcnnModel(path, threads, require_metadata=False)
    layers = [layer for layer in model.net.layers() if layer.type != 'Input']
    inputs = images.numpy()

    def extract(extractor, blob: int) -> float:
        start = time.perf_counter()
        status, mat = extractor.extract(blob, 1)  # type 1: the blob as computed, not unpacked for the caller
        seconds = time.perf_counter() - start
        del mat  # a blob still referenced here would be copied by an in-place layer that consumes it
        if status != 0:
            raise RuntimeError(f'ncnn could not compute blob {blob} of {path!r} (status {status})')
        return seconds

    total_seconds = dict.fromkeys((layer.type for layer in layers), 0.0)
    for run in range(runs + 1):
        extractor = model.extractor(inputs)
        timed = [(layer.type, extract(extractor, layer.tops[0])) for layer in layers]
        overhead = statistics.median(extract(extractor, layers[-1].tops[0]) for _ in range(OVERHEAD_CALLS))
        if run:
            for op, seconds in timed:
                total_seconds[op] += seconds - overhead
    return _per_type(timed, total_seconds, runs)


def mnn_profile(path: str, images: torch.Tensor, threads: int, runs: int = PROFILE_RUNS) -> OpTimes:
    """Mean time and calls per operator type over ``runs`` runs (after an untimed one) of an MNN file.

    The Module API that ``mmghost_runtime`` runs has no per-operator hook, so the file runs in MNN's session
    API with the same settings (``mmghost_runtime.backends.mnn_config`` and small Winograd units), timed
    between the callbacks before and after each operator.

    Args:
        path: The ``.mnn`` file.
        images: The input batch.
        threads: Threads.
        runs: The runs averaged.
    """
    import MNN

    from mmghost_runtime.backends import MNN_SMALL_WINOGRAD_UNITS, MNN_WINOGRAD_MEMORY_LEVEL, mnn_config
    interpreter = MNN.Interpreter(path)
    interpreter.setSessionHint(MNN_WINOGRAD_MEMORY_LEVEL, MNN_SMALL_WINOGRAD_UNITS)
    session = interpreter.createSession(mnn_config(threads))
    shape = tuple(images.shape)
    session_input = interpreter.getSessionInput(session)
    interpreter.resizeTensor(session_input, shape)
    interpreter.resizeSession(session)
    session_input.copyFrom(MNN.Tensor(shape, MNN.Halide_Type_Float, np.ascontiguousarray(images.numpy()),
                                      MNN.Tensor_DimensionType_Caffe))
    timed = []  # (operator type, seconds) of the current run
    started = [0.0]

    def before(tensors, info) -> bool:
        started[0] = time.perf_counter()
        return True

    def after(tensors, info) -> bool:
        timed.append((info.getType(), time.perf_counter() - started[0]))
        return True

    total_seconds: Dict[str, float] = {}
    for run in range(runs + 1):
        timed.clear()
        interpreter.runSessionWithCallBackInfo(session, before, after)
        if run:
            for op, seconds in timed:
                total_seconds[op] = total_seconds.get(op, 0.0) + seconds
    return _per_type(timed, total_seconds, runs)


def litert_profile(path: str, images: torch.Tensor, threads: int, runs: int = PROFILE_RUNS) -> OpTimes:
    """Mean time and calls per operator type over ``runs`` runs (after an untimed one) of a LiteRT file.

    ai-edge-litert's Python interpreter has no per-operator timing, and its XNNPACK delegate runs the file as
    one node. So each operator is cut out into a file of its own (:class:`.litert_ops.LiteRTGraph`; a PAD goes
    with the conv that it alone feeds, since XNNPACK folds it into that conv), given the values it gets in a
    run of the whole file, and run as ``mmghost_runtime`` runs a file (XNNPACK, ``threads``), its ``runs`` runs
    in a row. Each time is less the median cost of running a file without operators (about 0.5 us on the
    benchmark's machine). What XNNPACK shares between operators in one file (its layout, its thread pool's
    start, warm caches) is left out, so read the profile for how the operators compare, not for the total.

    Args:
        path: The ``.tflite`` file.
        images: The input batch, of the file's input shape.
        threads: Threads.
        runs: The runs averaged.
    """
    from ai_edge_litert.interpreter import Interpreter

    from .litert_ops import LiteRTGraph, run_keeping_tensors
    with open(path, 'rb') as f:
        content = f.read()
    graph = LiteRTGraph(content)
    image = np.ascontiguousarray(images.numpy())
    values = run_keeping_tensors(content, image)

    def run_times(file: bytes, inputs: Sequence[np.ndarray], calls: int) -> List[float]:
        interpreter = Interpreter(model_content=file, num_threads=threads or None)
        interpreter.allocate_tensors()
        for detail, value in zip(interpreter.get_input_details(), inputs):
            interpreter.set_tensor(detail['index'], value)
        interpreter.invoke()
        seconds = []
        for _ in range(calls):
            start = time.perf_counter()
            interpreter.invoke()
            seconds.append(time.perf_counter() - start)
        return seconds

    overhead = statistics.median(run_times(graph.empty(), [image], OVERHEAD_CALLS))
    timed, total_seconds = [], {}
    for op_type, ops in graph.units():
        file, input_tensors = graph.cut(ops)
        seconds = sum(run_times(file, [values.get_tensor(tensor) for tensor in input_tensors], runs)) - runs * overhead
        timed.append((op_type, seconds))
        total_seconds[op_type] = total_seconds.get(op_type, 0.0) + seconds
    return _per_type(timed, total_seconds, runs)


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
