"""Speed of every GhostNetV2 model against its MobileNetV2 twin (same neck and head), in one run.

Each GhostNetV2 model is paired with a twin that differs only in the backbone: the same config with
mmdet's/mmseg's MobileNetV2 (taps at the same strides, neck/head ``in_channels`` to match), or the peer
config itself where the GhostNetV2 config was derived from it (YOLOv3-MobileNetV2, DeepLabV3-MobileNetV2,
RTMDet-tiny). Both run the same thing in each mode, interleaved run by run:

- ``eager``: the model's tensor forward (backbone, neck and head; no box decoding/NMS, no resizing of
  logits), eval mode;
- ``deploy``: BatchNorm folded into the convs of backbone, neck and head, weights and input channels_last;
- ``onnxruntime``: the deploy model exported by :func:`mmghost.deploy.export_onnx` (dynamic batch, height
  and width), run by onnxruntime;
- ``onnxruntime static``: the same export with the input shape fixed (``export_onnx.py --static``), which
  lets onnxruntime fold the shape arithmetic of every resize;
- ``onnxruntime int8`` (cases named by ``--int8``): that file after onnxruntime's static int8 quantization
  (QOperator format, per-channel int8 weights, uint8 activations calibrated on random inputs of the case's
  size), to see whether int8 makes either model faster; its outputs are not expected to equal eager.

Training rows time ``train_step`` (SGD) with and without gradient checkpointing (``with_cp``), each in
a fresh process whose peak resident memory (``getrusage`` maxrss) is read before and after the steps.
Every deploy/onnxruntime row where GhostNetV2 is slower than its twin is profiled per operator.

``--device cuda`` times eager and deploy on the GPU (inference only: onnxruntime, int8 and training rows
are CPU measurements and are not run there).

Prints the tables, writes JSON and optionally the markdown report (``make bench``: docs/benchmarks.md).
``--smoke`` runs every case at tiny sizes once (for the tests; its timings mean nothing).
"""
import argparse
import copy
import datetime
import json
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

import mmghost  # noqa: F401  (registers GhostNetV2)
from mmghost.analysis import conv_linear_macs
from mmghost.deploy import INPUT_NAME, TensorOutputs, export_onnx, fuse_model, prepare_for_cpu_inference
from mmghost.apis import build_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ONNX_MODES = ('onnxruntime', 'onnxruntime static')
MODES = ('eager', 'deploy') + ONNX_MODES
TARGET_MODES = ('deploy', ) + ONNX_MODES  # GhostNetV2 is to be at least as fast as its twin in these
INT8_MODE = 'onnxruntime int8'
# The end of each resolution in GhostNetV2 (stage index) and the mmdet MobileNetV2 stage at the same place.
GHOST_TO_MOBILENET = {2: 1, 4: 2, 6: 4, 8: 6, 9: 7}
MOBILENET_CHANNELS = {1: 24, 2: 32, 4: 96, 6: 320, 7: 1280}
TRAIN_MARK = 'TRAIN-RESULT '


@dataclass
class Model:
    """How to build one contender: a config file plus model overrides, or a bare backbone config."""
    label: str
    config: Optional[str] = None
    overrides: Dict[str, Any] = field(default_factory=dict)
    backbone: Optional[dict] = None

    def build(self, extra: Optional[Dict[str, Any]] = None) -> nn.Module:
        if self.backbone is not None:
            from mmdet.registry import MODELS
            from mmengine.registry import init_default_scope
            init_default_scope('mmdet')
            model = MODELS.build(copy.deepcopy(self.backbone))
            model.init_weights()
            model.eval()  # mmdet's MobileNetV2.train() returns None, so no chaining
            return model
        return build_model(self.config, overrides={**self.overrides, **(extra or {})})


@dataclass
class Case:
    """A GhostNetV2 model and its twin, timed at ``size`` (batch 1) and optionally trained."""
    name: str
    ours: Model
    twin: Model
    size: Tuple[int, int]
    heavy: bool = False
    task: str = 'det'
    train_batch: int = 0
    train_size: Optional[Tuple[int, int]] = None


def package_config(package: str, relative: str) -> str:
    """Path of a config shipped inside mmdet/mmseg (``.mim/configs``)."""
    module = __import__(package)
    return osp.join(osp.dirname(module.__file__), '.mim', 'configs', relative)


def config(name: str) -> str:
    return osp.join(ROOT, 'configs', name)


def mobilenet_twin_of(path: str) -> Model:
    """The config at ``path`` with mmdet's MobileNetV2 tapped at the same places and frozen as far."""
    from mmengine.config import Config
    backbone = Config.fromfile(path).model.backbone
    out_indices = tuple(GHOST_TO_MOBILENET[i] for i in backbone.out_indices)
    frozen = backbone.get('frozen_stages', -1)  # GhostNetV2: the stem and blocks.0 .. blocks.{frozen - 1}
    mobilenet = dict(_delete_=True, type='MobileNetV2', out_indices=out_indices,
                     frozen_stages=frozen if frozen < 1 else GHOST_TO_MOBILENET[frozen - 1] + 1,
                     norm_cfg=backbone.get('norm_cfg', dict(type='BN')), norm_eval=backbone.get('norm_eval', False))
    return Model('MobileNetV2 twin', path, {'backbone': mobilenet,
                                            'neck.in_channels': [MOBILENET_CHANNELS[i] for i in out_indices]})


def cases(smoke: bool) -> List[Case]:
    """Every GhostNetV2 model with its twin; ``smoke`` shrinks every size to a few dozen pixels."""
    def px(size: Tuple[int, int]) -> Tuple[int, int]:
        return (64, 96) if smoke else size

    def ours(path: str) -> Model:
        return Model('GhostNetV2', path)

    mmseg_d8 = package_config('mmseg', 'mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py')
    os16 = {'backbone.strides': (1, 2, 2, 2, 1, 1, 1), 'backbone.dilations': (1, 1, 1, 1, 1, 2, 2),
            'decode_head.dilations': (1, 6, 12, 18)}
    return [
        Case('backbone', Model('GhostNetV2', backbone=dict(type='GhostNetV2', out_indices=(9, ))),
             Model('MobileNetV2 twin', backbone=dict(type='MobileNetV2', out_indices=(7, ))), px((224, 224)),
             task='backbone'),
        Case('RetinaNet', ours(config('retinanet_ghostnetv2_coco.py')),
             mobilenet_twin_of(config('retinanet_ghostnetv2_coco.py')), px((800, 1333)), heavy=True,
             train_batch=2, train_size=px((800, 1333))),
        Case('YOLOv3-320', ours(config('yolov3_ghostnetv2_320_coco.py')),
             Model('YOLOv3-MobileNetV2', package_config('mmdet', 'yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py')),
             px((320, 320))),
        Case('YOLOv3-416', ours(config('yolov3_ghostnetv2_416_coco.py')),
             Model('YOLOv3-MobileNetV2',
                   package_config('mmdet', 'yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py')), px((416, 416))),
        Case('DeepLabV3 OS8', ours(config('deeplabv3_ghostnetv2_ade20k.py')),
             Model('DeepLabV3-MobileNetV2', mmseg_d8), px((512, 512)), heavy=True, task='seg', train_batch=4,
             train_size=px((512, 512))),
        Case('DeepLabV3 OS16', ours(config('deeplabv3_ghostnetv2_os16_ade20k.py')),
             Model('DeepLabV3-MobileNetV2 OS16', mmseg_d8, os16), px((512, 512)), task='seg'),
        Case('RTMDet', ours(config('rtmdet_ghostnetv2_coco.py')),
             Model('RTMDet-tiny', package_config('mmdet', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py')), px((640, 640))),
    ]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GhostNetV2 models against their MobileNetV2 twins')
    parser.add_argument('--threads', type=int, default=os.cpu_count(), help='threads for every contender')
    parser.add_argument('--warmup', type=int, default=1, help='untimed runs per contender and mode')
    parser.add_argument('--repeats', type=int, default=10, help='timed runs per contender and mode (at least)')
    parser.add_argument('--min-seconds', type=float, default=3.0,
                        help='more timed runs (up to 1000) until each contender has run this long in a mode')
    parser.add_argument('--heavy-repeats', type=int, default=3,
                        help='timed runs for the big cases (RetinaNet 800x1333, DeepLabV3 OS8)')
    parser.add_argument('--train-warmup', type=int, default=1, help='untimed train steps per contender')
    parser.add_argument('--train-repeats', type=int, default=1, help='timed train steps per contender')
    parser.add_argument('--cases', nargs='+', help='run only the cases whose names start with these')
    parser.add_argument('--no-train', action='store_true', help='skip the training rows')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='cuda: eager and deploy on the GPU, inference only (needs --no-train)')
    parser.add_argument('--int8', nargs='+', metavar='CASE',
                        help='also time these cases (full names) after static int8 quantization in onnxruntime')
    parser.add_argument('--profile-all', action='store_true',
                        help='profile every deploy/onnxruntime row, not only those where GhostNetV2 is slower')
    parser.add_argument('--smoke', action='store_true',
                        help='tiny sizes, one run of everything: checks the script, timings are meaningless')
    parser.add_argument('--out', default='work_dirs/benchmark.json', help='JSON results')
    parser.add_argument('--markdown', help='also write the report to this markdown file')
    parser.add_argument('--train-child', nargs=3, metavar=('CASE', 'WHICH', 'WITH_CP'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = dict(threads=args.threads, repeats=args.repeats, heavy_repeats=args.heavy_repeats,
                  train_repeats=args.train_repeats)
    warmups = dict(warmup=args.warmup, train_warmup=args.train_warmup, min_seconds=args.min_seconds)
    if min(counts.values()) < 1 or min(warmups.values()) < 0:
        parser.error(f'--threads and the repeats must be >= 1, the warm-ups and --min-seconds >= 0, got {counts} '
                     f'and {warmups}')
    names = [case.name for case in cases(args.smoke)]
    unknown = sorted(set(args.int8 or ()) - set(names))
    if unknown:
        parser.error(f'--int8: unknown case(s) {unknown}, expected some of {names}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device')
    if args.device == 'cuda' and not args.no_train:
        parser.error('--device cuda times inference only: add --no-train')
    if args.smoke:
        args.warmup, args.repeats, args.heavy_repeats, args.train_warmup, args.train_repeats = 0, 1, 1, 0, 1
        args.min_seconds = 0.0
    return args


def summary(times_ms: List[float]) -> Dict[str, float]:
    quartiles = statistics.quantiles(times_ms, n=4) if len(times_ms) > 1 else [times_ms[0]] * 3
    return dict(median_ms=statistics.median(times_ms), p25_ms=quartiles[0], p75_ms=quartiles[2],
                repeats=len(times_ms))


def time_interleaved(runners: Dict[str, Callable[[], object]], warmup: int, repeats: int,
                     min_seconds: float = 0.0, max_repeats: int = 1000) -> Dict[str, dict]:
    """Median and quartiles of each runner's wall time; runners alternate run by run (noise hits both).

    Each runner runs ``repeats`` times, and more (up to ``max_repeats``) until every runner's timed runs
    add up to ``min_seconds``: a fast model gets enough runs for a stable median.
    """
    for _ in range(warmup):
        for run in runners.values():
            run()
    times: Dict[str, List[float]] = {name: [] for name in runners}
    while any(len(values) < repeats or sum(values) < min_seconds * 1000 and len(values) < max_repeats
              for values in times.values()):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: summary(values) for name, values in times.items()}


def cpu_session(path: str, threads: int, profile_prefix: Optional[str] = None):
    """An onnxruntime session on the file at ``path``, CPU provider, ``threads`` intra-op threads."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def synchronized(run: Callable[[], object]) -> Callable[[], object]:
    """``run``, returning only once the GPU has finished (a no-op without CUDA)."""
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return run

    def run_and_wait():
        result = run()
        torch.cuda.synchronize()
        return result
    return run_and_wait


def int8_session(path: str, example: torch.Tensor, threads: int, calibration_batches: int = 4):
    """An onnxruntime session on the static int8 quantization of the float model at ``path``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    generator = torch.Generator().manual_seed(0)

    class RandomImages(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{INPUT_NAME: torch.randn(example.shape, generator=generator).numpy()}
                                 for _ in range(calibration_batches)])

        def get_next(self):
            return next(self.batches, None)

    prepared, quantized = path.replace('.onnx', '-prepared.onnx'), path.replace('.onnx', '-int8.onnx')
    quant_pre_process(path, prepared, skip_symbolic_shape=True)  # symbolic inference fails on some heads
    quantize_static(prepared, quantized, RandomImages(), quant_format=QuantFormat.QOperator, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return cpu_session(quantized, threads)


def relative_difference(outputs: Sequence, reference: Sequence[torch.Tensor]) -> float:
    """max |a - b| / max |b| over all outputs."""
    diff = max(float((torch.as_tensor(a).float() - b).abs().max()) for a, b in zip(outputs, reference))
    return diff / max(float(b.abs().max()) for b in reference)


class Contender:
    """One model in its modes at one input size (eager outputs kept as the reference)."""

    def __init__(self, model: nn.Module, images: torch.Tensor, workdir: str, tag: str, threads: int) -> None:
        model.to(images.device)
        self.eager = TensorOutputs(model).eval()
        self.images, self.threads = images, threads
        self.macs = conv_linear_macs(model, lambda: self.eager(images))
        self.params = sum(p.numel() for p in model.parameters())
        with torch.inference_mode():
            self.reference = self.eager(images)
        self.fused = fuse_model(copy.deepcopy(model))
        self.onnx_path = osp.join(workdir, f'{tag}.onnx')

    def runner(self, mode: str) -> Callable[[], object]:
        if mode == 'eager':
            return synchronized(lambda: self.eager(self.images))
        if mode == 'deploy':
            deploy = prepare_for_cpu_inference(TensorOutputs(copy.deepcopy(self.fused)).eval())
            return synchronized(lambda: deploy(self.images))
        if mode == INT8_MODE:
            session = int8_session(self.onnx_file('onnxruntime'), self.images, self.threads)
        else:
            session = cpu_session(self.onnx_file(mode), self.threads)
        feed = {session.get_inputs()[0].name: self.images.numpy()}
        return lambda: session.run(None, feed)

    def onnx_file(self, mode: str) -> str:
        """The deploy model's ONNX file for an onnxruntime mode (fixed-shape for ``onnxruntime static``),
        exported on first use."""
        static = mode == 'onnxruntime static'
        path = self.onnx_path.replace('.onnx', '-static.onnx') if static else self.onnx_path
        if not osp.isfile(path):
            export_onnx(self.fused, self.images, path, dynamic=not static)
        return path

    def profile(self, mode: str) -> Dict[str, Dict[str, float]]:
        """Self time (ms) and calls per operator over one run: torch.profiler, or onnxruntime's profiler."""
        if mode in ONNX_MODES:
            session = cpu_session(self.onnx_file(mode), self.threads,
                                  osp.join(osp.dirname(self.onnx_path), 'ort_profile'))
            feed = {session.get_inputs()[0].name: self.images.numpy()}
            session.run(None, feed)
            session.run(None, feed)
            return onnxruntime_ops(session.end_profiling())
        run = self.runner(mode)
        with torch.inference_mode():
            run()
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                run()
        return {event.key: dict(ms=event.self_cpu_time_total / 1000, calls=event.count)
                for event in prof.key_averages() if event.self_cpu_time_total > 0}


def onnxruntime_ops(trace_path: str) -> Dict[str, Dict[str, float]]:
    """Kernel time (ms) and calls per operator type in the last run of an onnxruntime profile."""
    with open(trace_path) as f:
        events = json.load(f)
    os.remove(trace_path)
    last_run = max(e['ts'] for e in events if e.get('name') == 'model_run')
    ops: Dict[str, Dict[str, float]] = {}
    for event in events:
        if event.get('cat') == 'Node' and event['name'].endswith('_kernel_time') and event['ts'] >= last_run:
            op = ops.setdefault(event['args']['op_name'], dict(ms=0.0, calls=0))
            op['ms'] += event['dur'] / 1000
            op['calls'] += 1
    return ops


def compare_ops(ours: Dict[str, Dict[str, float]], twin: Dict[str, Dict[str, float]], top: int = 8) -> dict:
    """The operators that cost GhostNetV2 most, beside the twin's, and the one with the largest excess."""
    names = sorted(ours, key=lambda k: -ours[k]['ms'])[:top]
    empty = dict(ms=0.0, calls=0)
    table = [dict(op=name, ours_ms=ours[name]['ms'], ours_calls=ours[name]['calls'],
                  twin_ms=twin.get(name, empty)['ms'], twin_calls=twin.get(name, empty)['calls']) for name in names]
    excess = {name: ours[name]['ms'] - twin.get(name, empty)['ms'] for name in ours}
    worst = max(excess, key=excess.get)
    return dict(top=table, largest_excess_op=worst, largest_excess_ms=excess[worst],
                ours_total_ms=sum(v['ms'] for v in ours.values()), twin_total_ms=sum(v['ms'] for v in twin.values()))


def randomise_norm_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BatchNorm statistics and affine parameters (in place), so that folding them is checked."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for tensor, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.5, 2.0),
                                      (module.weight, 0.5, 1.5), (module.bias, -0.5, 0.5)):
                if tensor is not None:
                    tensor.data.uniform_(low, high, generator=generator)
    return model


def network_input(case: Case, model: nn.Module) -> torch.Tensor:
    """One normalised image at the case's size, padded as the model's data preprocessor pads it."""
    divisor = getattr(getattr(model, 'data_preprocessor', None), 'pad_size_divisor', 1)
    height, width = (-(-side // divisor) * divisor for side in case.size)
    return torch.randn(1, 3, height, width)


def run_case(case: Case, args: argparse.Namespace, workdir: str) -> List[dict]:
    """Rows (one per mode) of one case: latency of both contenders, MACs, params, ratios, profiles."""
    models = dict(ours=randomise_norm_statistics(case.ours.build()), twin=randomise_norm_statistics(case.twin.build()))
    images = network_input(case, models['ours']).to(args.device)
    contenders = {which: Contender(model, images, workdir, f'{case.name}-{which}'.replace(' ', '_'), args.threads)
                  for which, model in models.items()}
    del models
    repeats = args.heavy_repeats if case.heavy else args.repeats
    rows = []
    modes = MODES + ((INT8_MODE, ) if case.name in (args.int8 or ()) else ())
    for mode in modes if args.device == 'cpu' else ('eager', 'deploy'):
        runners = {which: c.runner(mode) for which, c in contenders.items()}
        with torch.inference_mode():
            results = time_interleaved(runners, args.warmup, repeats, args.min_seconds)
            differences = {which: relative_difference(runners[which](), c.reference)
                           for which, c in contenders.items()}
        row = dict(case=case.name, size=list(images.shape[-2:]), mode=mode, twin_model=case.twin.label,
                   ghostnetv2=dict(results['ours'], macs=contenders['ours'].macs, params=contenders['ours'].params,
                             rel_diff_vs_eager=differences['ours']),
                   twin=dict(results['twin'], macs=contenders['twin'].macs, params=contenders['twin'].params,
                                    rel_diff_vs_eager=differences['twin']))
        row['speed_ratio'] = row['twin']['median_ms'] / row['ghostnetv2']['median_ms']
        row['mac_ratio'] = row['ghostnetv2']['macs'] / row['twin']['macs']
        if args.device == 'cpu' and mode in TARGET_MODES and (row['speed_ratio'] < 1.0 or args.profile_all):
            row['profile'] = compare_ops(contenders['ours'].profile(mode), contenders['twin'].profile(mode))
        print(format_inference([row]).splitlines()[-1], flush=True)
        rows.append(row)
        del runners
    return rows


def train_data(case: Case, model: nn.Module, batch: int) -> dict:
    """A packed batch (images + annotations) of ``batch`` images at the case's training size."""
    height, width = case.train_size
    if case.task == 'det':
        from mmdet.testing import demo_mm_inputs
        return demo_mm_inputs(batch, [(3, height, width)] * batch, num_classes=model.bbox_head.num_classes)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    num_classes = model.decode_head.num_classes
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, height, width), dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def train_child(args: argparse.Namespace) -> None:
    """In this fresh process: time train steps of one contender and print them with the peak memory."""
    from mmengine.optim import OptimWrapper
    case_name, which, with_cp = args.train_child
    case = next(c for c in cases(args.smoke) if c.name == case_name)
    spec = case.ours if which == 'ours' else case.twin
    overrides = {'backbone.with_cp': with_cp == '1'}
    if case.task == 'seg':  # the segmentor's preprocessor pads every image to its crop size
        overrides['data_preprocessor.size'] = case.train_size
    model = spec.build(overrides).train()
    data = train_data(case, model, case.train_batch)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)
    optim_wrapper = OptimWrapper(optimizer)
    rss_before = max_rss_mb()
    times = []
    for step in range(args.train_warmup + args.train_repeats):
        start = time.perf_counter()
        log_vars = model.train_step(data, optim_wrapper)
        times.append((time.perf_counter() - start) * 1000)
        if not torch.isfinite(log_vars['loss']):
            raise RuntimeError(f'{case_name} {which}: non-finite loss at step {step}')
    result = dict(summary(times[args.train_warmup:]), peak_rss_mb=max_rss_mb(), rss_growth_mb=max_rss_mb() - rss_before)
    print(TRAIN_MARK + json.dumps(result), flush=True)


def run_train(case: Case, args: argparse.Namespace) -> List[dict]:
    """Train-step rows of one case, without and with ``with_cp``; one fresh process per contender."""
    rows = []
    for with_cp in (False, True):
        results = {}
        for which in ('ours', 'twin'):
            command = [sys.executable, osp.abspath(__file__), '--threads', str(args.threads),
                       '--train-warmup', str(args.train_warmup), '--train-repeats', str(args.train_repeats),
                       '--train-child', case.name, which, str(int(with_cp))] + (['--smoke'] if args.smoke else [])
            done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
            lines = [line for line in done.stdout.splitlines() if line.startswith(TRAIN_MARK)]
            if done.returncode != 0 or not lines:
                raise RuntimeError(f'train step of {case.name} ({which}, with_cp={with_cp}) failed:\n'
                                   f'{done.stdout[-2000:]}\n{done.stderr[-4000:]}')
            results[which] = json.loads(lines[-1][len(TRAIN_MARK):])
        row = dict(case=case.name, batch=case.train_batch, size=list(case.train_size), with_cp=with_cp,
                   twin_model=case.twin.label, ghostnetv2=results['ours'], twin=results['twin'],
                   speed_ratio=results['twin']['median_ms'] / results['ours']['median_ms'],
                   memory_ratio=results['ours']['rss_growth_mb'] / max(results['twin']['rss_growth_mb'], 1.0))
        print(format_train([row]).splitlines()[-1], flush=True)
        rows.append(row)
    return rows


def format_inference(rows: List[dict]) -> str:
    lines = ['| model | input | mode | GhostNetV2 ms (p25-p75) | twin | twin ms (p25-p75) | speed ratio | '
             'GMACs GhostNetV2 / twin | MAC ratio | params (M) GhostNetV2 / twin |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        ours, twin = row['ghostnetv2'], row['twin']
        flag = '' if max(ours['rel_diff_vs_eager'], twin['rel_diff_vs_eager']) < 1e-3 else \
            f' (output differs from eager: {ours["rel_diff_vs_eager"]:.1e} / {twin["rel_diff_vs_eager"]:.1e})'
        lines.append(
            f'| {row["case"]} | {row["size"][0]}x{row["size"][1]} | {row["mode"]}{flag} | '
            f'{ours["median_ms"]:.1f} ({ours["p25_ms"]:.1f}-{ours["p75_ms"]:.1f}) | {row["twin_model"]} | '
            f'{twin["median_ms"]:.1f} ({twin["p25_ms"]:.1f}-{twin["p75_ms"]:.1f}) | **{row["speed_ratio"]:.2f}x** | '
            f'{ours["macs"] / 1e9:.2f} / {twin["macs"] / 1e9:.2f} | {row["mac_ratio"]:.2f} | '
            f'{ours["params"] / 1e6:.2f} / {twin["params"] / 1e6:.2f} |')
    return '\n'.join(lines)


def format_train(rows: List[dict]) -> str:
    lines = ['| model | batch x input | with_cp | GhostNetV2 ms | twin | twin ms | speed ratio | '
             'memory growth MB GhostNetV2 / twin (peak RSS) | memory ratio |',
             '|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        ours, twin = row['ghostnetv2'], row['twin']
        lines.append(
            f'| {row["case"]} | {row["batch"]}x{row["size"][0]}x{row["size"][1]} | {row["with_cp"]} | '
            f'{ours["median_ms"]:.0f} | {row["twin_model"]} | {twin["median_ms"]:.0f} | '
            f'**{row["speed_ratio"]:.2f}x** | '
            f'{ours["rss_growth_mb"]:.0f} / {twin["rss_growth_mb"]:.0f} ({ours["peak_rss_mb"]:.0f} / '
            f'{twin["peak_rss_mb"]:.0f}) | {row["memory_ratio"]:.2f} |')
    return '\n'.join(lines)


def format_profiles(rows: List[dict]) -> str:
    parts = []
    for row in rows:
        if 'profile' not in row:
            continue
        profile = row['profile']
        parts.append(f'**{row["case"]} {row["size"][0]}x{row["size"][1]}, {row["mode"]}: {row["speed_ratio"]:.2f}x.** '
                     f'Profiled op time {profile["ours_total_ms"]:.1f} ms (GhostNetV2) vs '
                     f'{profile["twin_total_ms"]:.1f} ms ({row["twin_model"]}); largest excess: '
                     f'`{profile["largest_excess_op"]}` (+{profile["largest_excess_ms"]:.1f} ms).\n\n'
                     '| op | GhostNetV2 ms (calls) | twin ms (calls) |\n|---|---|---|\n' + '\n'.join(
                         f'| `{op["op"]}` | {op["ours_ms"]:.1f} ({op["ours_calls"]}) | {op["twin_ms"]:.1f} '
                         f'({op["twin_calls"]}) |' for op in profile['top']))
    return '\n\n'.join(parts) or 'No deploy or onnxruntime row was slower than its twin.'


def machine(device: str) -> Dict[str, Any]:
    import onnxruntime
    cpu = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), cpu)
    return dict(cpu=cpu, cores=os.cpu_count(), threads=torch.get_num_threads(), torch=torch.__version__,
                onnxruntime=onnxruntime.__version__, python=platform.python_version(),
                device=torch.cuda.get_device_name() if device == 'cuda' else 'cpu')


def shortfalls(rows: List[dict]) -> List[str]:
    return [f'{r["case"]} {r["mode"]} {r["speed_ratio"]:.2f}x' for r in rows
            if r['mode'] in TARGET_MODES and r['speed_ratio'] < 1.0]


def format_int8(rows: List[dict]) -> str:
    """What static int8 quantization does to each model's onnxruntime time (float time / int8 time)."""
    float_rows = {r['case']: r for r in rows if r['mode'] == 'onnxruntime'}
    lines = []
    for row in rows:
        if row['mode'] != INT8_MODE:
            continue
        float_ms = {which: float_rows[row['case']][which]['median_ms'] for which in ('ghostnetv2', 'twin')}
        change = {which: f'{ms:.1f} ms float -> {row[which]["median_ms"]:.1f} ms int8 '
                         f'(**{ms / row[which]["median_ms"]:.2f}x**)' for which, ms in float_ms.items()}
        lines.append(f'- {row["case"]} {row["size"][0]}x{row["size"][1]}: GhostNetV2 {change["ghostnetv2"]}; '
                     f'{row["twin_model"]} {change["twin"]}.')
    return '\n'.join(lines)


def int8_section(rows: List[dict]) -> str:
    int8 = format_int8(rows)
    if not int8:
        return ''
    return (f"\n**{INT8_MODE}** rows: the onnxruntime file after onnxruntime's static int8 quantization (QOperator "
            "format, per-channel int8 weights, uint8 activations calibrated on 4 random inputs); the outputs are "
            f"quantized, not equal to eager. Float -> int8 time in onnxruntime (> 1: int8 faster):\n\n{int8}\n")


def report(results: dict) -> str:
    m = results['machine']
    short = shortfalls(results['inference'])
    return f"""# Benchmarks: GhostNetV2 models against their MobileNetV2 twins

Generated by `make bench` (tools/analysis_tools/benchmark.py) on {results['date']}; this run:
`{results['command']}`.
Machine: {m['cpu']}, {m['cores']} cores, torch threads: {m['threads']}, models on: {m['device']}; torch \
{m['torch']}, onnxruntime {m['onnxruntime']}, Python {m['python']}. The machine is shared and noisy: compare the
ratios (both contenders of a row alternate run by run in the same process), not absolute times across runs.

Each GhostNetV2 model is timed against a twin with the same neck and head and mmdet's/mmseg's MobileNetV2 as
backbone: the RetinaNet twin is the same config with MobileNetV2 tapped at the same strides (and frozen as
far); the YOLOv3, DeepLabV3 and RTMDet twins are the peer configs the GhostNetV2 configs were made from
(YOLOv3-MobileNetV2, DeepLabV3-MobileNetV2 with strides/dilations for OS16, RTMDet-tiny). Batch 1, random
weights, the tensor forward of backbone, neck and head (no box decoding/NMS). Modes: **eager** (eval mode);
**deploy** (BatchNorm folded into the convs of backbone, neck and head, channels_last weights and input; both
models); **onnxruntime** (the deploy model exported with `mmghost.deploy.export_onnx`, dynamic batch, height
and width, run by onnxruntime's CPU provider; both models); **onnxruntime static** (the same export with the
input shape fixed, as `export_onnx.py --static` writes it; both models). Median of {results['settings']['repeats']} runs ({results['settings']['heavy_repeats']} for
RetinaNet and DeepLabV3 OS8), or of more until each contender has run for \
{results['settings'].get('min_seconds', 0):g} s in the mode (up to 1000 runs; the JSON has each row's count), after \
{results['settings']['warmup']} warm-up run(s). **Speed ratio** = twin time /
GhostNetV2 time (> 1: GhostNetV2 faster). MACs count Conv2d and Linear multiply-adds (`mmghost.analysis`);
**MAC ratio** = GhostNetV2 / twin (< 1: GhostNetV2 cheaper).

## Inference

{format_inference(results['inference'])}

Deploy or onnxruntime rows below 1.0x: {', '.join(short) if short else 'none'}.
{int8_section(results['inference'])}
## Training step

`train_step` with SGD, each contender in a fresh process: median of {results['settings']['train_repeats']} step(s)
after {results['settings']['train_warmup']} untimed step(s). Memory is the growth of the process's peak resident
set (`getrusage` maxrss) over the train steps (the peak after building the model and data is the baseline),
so it counts activations, gradients and optimizer state; the process's whole peak is in brackets. Memory
ratio = GhostNetV2 / twin (< 1: GhostNetV2 needs less).

{format_train(results['train']) if results['train'] else 'Not run (--no-train).'}

## Where GhostNetV2 falls short

Per-operator self time over one run (torch.profiler for deploy, onnxruntime's profiler for onnxruntime),
the eight most expensive operators of GhostNetV2 beside the twin's figures for the same operator.

{format_profiles(results['inference'])}
"""


def save(results: dict, args: argparse.Namespace) -> None:
    """Write the JSON results and the markdown report (after every case, so a cut-short run keeps its rows)."""
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(report(results))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.train_child:
        return train_child(args)
    selected = [c for c in cases(args.smoke) if not args.cases or c.name.startswith(tuple(args.cases))]
    results = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                   command=' '.join(['python', osp.relpath(__file__, ROOT), *sys.argv[1:]]),
                   machine=machine(args.device),
                   settings=dict(warmup=args.warmup, repeats=args.repeats, heavy_repeats=args.heavy_repeats,
                                 min_seconds=args.min_seconds,
                                 train_warmup=args.train_warmup, train_repeats=args.train_repeats, smoke=args.smoke),
                   inference=[], train=[])
    with tempfile.TemporaryDirectory() as workdir:
        for case in selected:
            results['inference'] += run_case(case, args, workdir)
            save(results, args)
    for case in selected:
        if case.train_batch and not args.no_train:
            results['train'] += run_train(case, args)
            save(results, args)
    print(f'\n{format_inference(results["inference"])}\n\n{format_train(results["train"])}')


if __name__ == '__main__':
    main()
