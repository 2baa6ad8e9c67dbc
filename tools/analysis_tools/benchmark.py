"""Throughput of GhostNetV2 against its peers, all contenders in one process and one run.

Prints markdown tables (median latency, spread, ratios to each peer) and writes them as JSON; with
``--markdown`` also writes the report (docs/benchmarks.md). ``make bench`` runs it with the defaults.

Contenders for the backbone (eval mode, same input, same thread count):
    mmghost eager; mmghost deploy (BN folded, channels_last); optionally deploy + torch.compile;
    onnxruntime on the exported deploy model; timm ghostnetv2_100 with the same weights (its
    forward_features, up to the same 960-channel map); mmdet's MobileNetV2 (whole trunk).
Then detectors (predict on a preprocessed batch), one training iteration of the demo detector,
segmentors, and the achieved GFLOP/s of the backbone next to the machine's dense-matmul GFLOP/s.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.config import Config

import mmghost  # noqa: F401  (registers GhostNetV2)
from mmghost.analysis import conv_linear_macs
from mmghost.deploy import export_onnx, fuse_model, prepare_for_cpu_inference
from mmghost.engine import build_model
from mmghost.models import GhostNetV2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BACKBONE_CASES = [(1, 224, 224), (8, 224, 224), (1, 512, 512), (1, 800, 1333)]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark GhostNetV2 against its peers')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (timings are synchronised)')
    parser.add_argument('--threads', type=int, default=os.cpu_count(), help='threads for every contender')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--compile', action='store_true', help='add torch.compile of the deploy model')
    parser.add_argument('--only', choices=['backbone', 'detector', 'segmentor', 'train'], nargs='+',
                        help='run only these sections')
    parser.add_argument('--out', default='work_dirs/benchmark.json', help='JSON results')
    parser.add_argument('--markdown', help='also write the report to this markdown file')
    args = parser.parse_args()
    if args.threads < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error(f'--threads and --repeats must be >= 1 and --warmup >= 0, got {args.threads}, '
                     f'{args.repeats}, {args.warmup}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no GPU is available')
    return args


class Timer:
    """Median and spread of a callable's wall time, synchronised on CUDA."""

    def __init__(self, device: str, warmup: int, repeats: int) -> None:
        self.device, self.warmup, self.repeats = device, warmup, repeats

    def sync(self) -> None:
        if self.device == 'cuda':
            torch.cuda.synchronize()

    def __call__(self, fn: Callable[[], object], repeats: Optional[int] = None) -> Dict[str, float]:
        with torch.inference_mode():
            return self._time(fn, repeats)

    def train(self, fn: Callable[[], object], repeats: Optional[int] = None) -> Dict[str, float]:
        return self._time(fn, repeats)

    def _time(self, fn: Callable[[], object], repeats: Optional[int]) -> Dict[str, float]:
        for _ in range(self.warmup):
            fn()
        self.sync()
        times = []
        for _ in range(repeats or self.repeats):
            start = time.perf_counter()
            fn()
            self.sync()
            times.append((time.perf_counter() - start) * 1000)
        quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
        return dict(median_ms=statistics.median(times), p25_ms=quartiles[0], p75_ms=quartiles[2],
                    min_ms=min(times), repeats=len(times))


def matmul_gflops(timer: Timer, device: str, size: int = 2048) -> float:
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    return 2 * size**3 / (timer(lambda: a @ b)['median_ms'] / 1000) / 1e9


def backbone_contenders(device: str, compile_deploy: bool) -> Dict[str, Callable[[torch.Tensor], object]]:
    """Callables taking an NCHW batch; all GhostNetV2 contenders share timm's random weights."""
    import timm
    from mmdet.models.backbones import MobileNetV2

    timm_model = timm.create_model('ghostnetv2_100').eval().to(device)
    eager = GhostNetV2(out_indices=(9, )).eval()
    eager.load_state_dict({k: v for k, v in timm_model.state_dict().items()
                           if not k.startswith(('conv_head', 'classifier'))})
    eager.to(device)
    fused = fuse_model(copy.deepcopy(eager))
    mobilenet = MobileNetV2(out_indices=(7, )).to(device)
    mobilenet.eval()  # mmdet's MobileNetV2.train() returns None, so no chaining
    contenders = {
        'mmghost eager': eager,
        'mmghost deploy': prepare_for_cpu_inference(copy.deepcopy(fused)),
        'timm ghostnetv2_100': timm_model.forward_features,
        'mmdet MobileNetV2': mobilenet,
    }
    if compile_deploy:
        contenders['mmghost deploy+compile'] = prepare_for_cpu_inference(copy.deepcopy(fused), compile=True)
    if device == 'cpu':
        contenders['onnxruntime (deploy)'] = onnxruntime_session(fused)
    return contenders


def onnxruntime_session(model: nn.Module) -> Callable[[torch.Tensor], object]:
    """Export ``model`` with dynamic height/width and return an onnxruntime runner on the same threads."""
    import onnxruntime as ort

    path = osp.join(tempfile.mkdtemp(), 'ghostnetv2.onnx')
    export_onnx(model, torch.randn(1, 3, 224, 224), path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.numpy()})


def run_backbones(timer: Timer, args: argparse.Namespace) -> List[dict]:
    contenders = backbone_contenders(args.device, args.compile)
    probe = GhostNetV2(out_indices=(9, )).eval()
    rows = []
    for batch, height, width in BACKBONE_CASES:
        images = torch.randn(batch, 3, height, width, device=args.device)
        macs = conv_linear_macs(probe, lambda: probe(images.cpu()))
        results = {name: timer(lambda fn=fn: fn(images)) for name, fn in contenders.items()}
        rows.append(dict(case=f'backbone b{batch} {height}x{width}', macs=macs, results=results,
                         peers=['timm ghostnetv2_100', 'mmdet MobileNetV2']))
    return rows


def build_from_config(path: str, **model_overrides) -> tuple:
    """A config's model with random backbone weights, in eval mode, and the config."""
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_overrides.items()})
    return build_model(cfg), cfg


def package_config(package: str, relative: str) -> str:
    """Path of a config shipped inside mmdet/mmseg (``.mim/configs``)."""
    module = __import__(package)
    return osp.join(osp.dirname(module.__file__), '.mim', 'configs', relative)


def det_inputs(model: nn.Module, height: int, width: int, batch: int = 1, training: bool = False):
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(batch, [(3, height, width)] * batch, num_classes=model.bbox_head.num_classes)
    return model.data_preprocessor(packed, training)


def run_detectors(timer: Timer, args: argparse.Namespace) -> List[dict]:
    mobilenet_backbone = dict(_delete_=True, type='MobileNetV2', out_indices=(2, 4, 7), init_cfg=None)
    pairs = [
        ('RetinaNet b1 800x1333', (800, 1333), osp.join(ROOT, 'configs', 'retinanet_ghostnetv2_coco.py'),
         'RetinaNet-MobileNetV2', osp.join(ROOT, 'configs', 'retinanet_ghostnetv2_coco.py'),
         {'backbone': mobilenet_backbone, 'neck.in_channels': [32, 96, 1280]}),
        ('YOLOv3 b1 416x416', (416, 416), osp.join(ROOT, 'configs', 'yolov3_ghostnetv2_416_coco.py'),
         'YOLOv3-MobileNetV2', package_config('mmdet', 'yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py'), {}),
    ]
    rows = []
    for case, (height, width), ours, peer_name, peer_path, peer_overrides in pairs:
        results = {}
        for name, path, overrides in ((f'{case.split()[0]}-GhostNetV2', ours, {}),
                                      (peer_name, peer_path, peer_overrides)):
            model, _ = build_from_config(path, **overrides)
            model.to(args.device)
            data = det_inputs(model, height, width)
            data = dict(inputs=data['inputs'].to(args.device), data_samples=data['data_samples'])
            results[name] = timer(lambda m=model, d=data: m(**d, mode='predict'))
        rows.append(dict(case=f'detector {case}', results=results, peers=[peer_name]))
    return rows


def run_train_step(timer: Timer, args: argparse.Namespace) -> List[dict]:
    from mmengine.optim import build_optim_wrapper

    model, cfg = build_from_config(osp.join(ROOT, 'configs', 'demo', 'retinanet_ghostnetv2_demo.py'))
    model.to(args.device).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(8, [(3, 320, 320)] * 8, num_classes=model.bbox_head.num_classes)
    result = timer.train(lambda: model.train_step(packed, optim_wrapper), repeats=max(3, args.repeats // 2))
    return [dict(case='train step: demo RetinaNet, b8 320x320', results={'RetinaNet-GhostNetV2 (demo)': result},
                 peers=[])]


def run_segmentors(timer: Timer, args: argparse.Namespace) -> List[dict]:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    results = {}
    for name, path in (('DeepLabV3-GhostNetV2 (OS8)', osp.join(ROOT, 'configs', 'deeplabv3_ghostnetv2_ade20k.py')),
                       ('DeepLabV3-MobileNetV2 (OS8)', package_config(
                           'mmseg', 'mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512.py'))):
        model, _ = build_from_config(path)
        model.to(args.device)
        sample = SegDataSample(metainfo=dict(img_shape=(512, 512), ori_shape=(512, 512)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 512, 512, dtype=torch.long))
        data = model.data_preprocessor(dict(inputs=[torch.randint(0, 256, (3, 512, 512), dtype=torch.uint8)],
                                            data_samples=[sample]), False)
        data = dict(inputs=data['inputs'].to(args.device), data_samples=data['data_samples'])
        results[name] = timer(lambda m=model, d=data: m(**d, mode='predict'), repeats=max(3, args.repeats // 3))
    return [dict(case='segmentor b1 512x512', results=results, peers=['DeepLabV3-MobileNetV2 (OS8)'])]


def format_rows(rows: List[dict], matmul: float) -> str:
    lines = ['| case | contender | median ms | p25-p75 ms | ratio vs peers (>1: faster) | GFLOP/s |',
             '|---|---|---|---|---|---|']
    for row in rows:
        for name, res in row['results'].items():
            ratios = ', '.join(f'{row["results"][p]["median_ms"] / res["median_ms"]:.2f}x vs {p}'
                               for p in row['peers'] if p != name and p in row['results'])
            gflops = ''
            if 'macs' in row:
                achieved = 2 * row['macs'] / (res['median_ms'] / 1000) / 1e9
                gflops = f'{achieved:.1f} ({achieved / matmul:.0%} of matmul)'
            lines.append(f'| {row["case"]} | {name} | {res["median_ms"]:.1f} | {res["p25_ms"]:.1f}-'
                         f'{res["p75_ms"]:.1f} | {ratios or "-"} | {gflops} |')
    return '\n'.join(lines)


def machine() -> str:
    return (f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads')


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    timer = Timer(args.device, args.warmup, args.repeats)
    sections = dict(backbone=run_backbones, detector=run_detectors, train=run_train_step,
                    segmentor=run_segmentors)
    matmul = matmul_gflops(timer, args.device)
    rows = []
    for name, run in sections.items():
        if not args.only or name in args.only:
            rows += run(timer, args)
            print(format_rows(rows[-1:], matmul), flush=True)
    table = format_rows(rows, matmul)
    header = (f'Machine: {machine()}, device {args.device}. Dense fp32 matmul (2048^3): {matmul:.1f} GFLOP/s. '
              f'{args.warmup} warm-up + {args.repeats} timed runs per contender (fewer for the heavy '
              f'segmentor/train cases); GFLOP/s counts 2 x Conv2d/Linear multiply-adds.')
    print(f'\n{header}\n\n{table}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(machine=machine(), device=args.device, matmul_gflops=matmul, rows=rows), f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(f'# Benchmarks\n\nProduced by `make bench` (`tools/analysis_tools/benchmark.py`).\n\n'
                    f'{header}\n\n{table}\n')


if __name__ == '__main__':
    main()
