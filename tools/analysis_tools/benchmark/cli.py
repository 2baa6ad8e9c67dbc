"""The command line: which cases and settings, the run, and where the JSON and the report go."""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import shlex
import sys
import tempfile
from importlib import metadata
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import torch
from mmengine.config import DictAction

from .cases import Case, cases
from .inference import run_case
from .modes import MODES, modes_of
from .report import format_inference, format_train, report
from .timing import MAX_REPEATS
from .train_step import run_train

# the runtimes' distributions, by the name the report gives them
RUNTIME_PACKAGES = dict(onnxruntime='onnxruntime', openvino='openvino', ncnn='ncnn', pnnx='pnnx', mnn='MNN',
                        litert_torch='litert-torch', ai_edge_litert='ai-edge-litert')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The options, checked; ``--smoke`` sets every repeat count to one run.

    Args:
        argv: The arguments. Defaults to None (``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog=f'python -m {__package__}',
                                     description='GhostNetV2 models against their MobileNetV2 twins')
    parser.add_argument('--threads', type=int, nargs='+', default=sorted({1, os.cpu_count()}),
                        help='thread counts: every mode is timed at each (default: 1 and all cores)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed runs per contender and mode')
    parser.add_argument('--repeats', type=int, default=10, help='timed runs per contender and mode (at least)')
    parser.add_argument('--min-seconds', type=float, default=3.0,
                        help=f'more timed runs (up to {MAX_REPEATS}) until each contender has run this long in a mode')
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
    parser.add_argument('--modes', nargs='+', metavar='MODE',
                        help=f'run only these modes (quoted where a name has a space), of: {", ".join(MODES)}')
    parser.add_argument('--profile-all', action='store_true',
                        help='profile every row of the target modes, not only those where GhostNetV2 is slower')
    parser.add_argument('--ghostnetv2-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='an ablation: build every GhostNetV2 model with these overrides of its model config '
                             '(a bare backbone takes backbone.ARG keys), e.g. backbone.attention_blocks=none for '
                             'GhostNetV2 without its DFC attention; the report says so; needs --no-train')
    parser.add_argument('--smoke', action='store_true',
                        help='tiny sizes, one run of everything: checks the benchmark, timings are meaningless')
    parser.add_argument('--out', default='work_dirs/benchmark.json', help='JSON results')
    parser.add_argument('--markdown', help='also write the report to this markdown file')
    args = parser.parse_args(argv)
    counts = dict(threads=min(args.threads), repeats=args.repeats, heavy_repeats=args.heavy_repeats,
                  train_repeats=args.train_repeats)
    warmups = dict(warmup=args.warmup, train_warmup=args.train_warmup, min_seconds=args.min_seconds)
    if min(counts.values()) < 1 or min(warmups.values()) < 0:
        parser.error(f'--threads and the repeats must be >= 1, the warm-ups and --min-seconds >= 0, got {counts} '
                     f'and {warmups}')
    names = [case.name for case in cases(args.smoke)]
    unknown = sorted(set(args.int8 or ()) - set(names))
    if unknown:
        parser.error(f'--int8: unknown case(s) {unknown}, expected some of {names}')
    unknown = [mode for mode in args.modes or () if mode not in MODES]
    if unknown:
        parser.error(f'--modes: unknown mode(s) {unknown}, expected some of {list(MODES)}')
    never_run = [mode for mode in args.modes or () if mode not in modes_of(bool(args.int8), args.device)]
    if never_run:
        parser.error(f'--modes: {never_run} would not run with --device {args.device}'
                     f'{"" if args.int8 else " and without --int8"}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device')
    if args.device == 'cuda' and not args.no_train:
        parser.error('--device cuda times inference only: add --no-train')
    if args.ghostnetv2_options and not args.no_train:
        parser.error('--ghostnetv2-options changes the models timed for inference only: add --no-train')
    if args.smoke:
        args.warmup, args.repeats, args.heavy_repeats, args.train_warmup, args.train_repeats = 0, 1, 1, 0, 1
        args.min_seconds = 0.0
    return args


def installed_version(package: str) -> str:
    """The installed version of a distribution, or ``'not installed'``."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return 'not installed'


def machine(device: str, threads: Sequence[int]) -> Dict[str, Any]:
    """The CPU, core and thread counts, library versions and the device the torch modes run on.

    Args:
        device: ``'cpu'`` or ``'cuda'``.
        threads: The thread counts of the run.
    """
    cpu = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), cpu)
    versions = {name: installed_version(package) for name, package in RUNTIME_PACKAGES.items()}
    return dict(cpu=cpu, cores=os.cpu_count(), threads=threads, torch=torch.__version__, **versions,
                python=platform.python_version(), device=torch.cuda.get_device_name() if device == 'cuda' else 'cpu')


def save(results: dict, args: argparse.Namespace, selected: Sequence[Case]) -> None:
    """Write the JSON results and the markdown report (after every case, so a cut-short run keeps its rows).

    Args:
        results: The results so far.
        args: The command line.
        selected: The cases of the run.
    """
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(report(results, selected))


def collect(rows: List[dict], new_rows: Iterable[dict], table: Callable[[Sequence[dict]], str]) -> None:
    """Append each new row to ``rows`` as it comes, printing it as a line of its table.

    Args:
        rows: The rows so far.
        new_rows: The rows of one case, as they are measured.
        table: The table format of these rows.
    """
    for row in new_rows:
        print(table([row]).splitlines()[-1], flush=True)
        rows.append(row)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Time every selected case, then train them; print the tables, write the JSON and the report.

    Args:
        argv: The arguments. Defaults to None (``sys.argv[1:]``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    torch.manual_seed(0)
    selected = [c for c in cases(args.smoke) if not args.cases or c.name.startswith(tuple(args.cases))]
    results = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                   command=shlex.join(['python', '-m', __package__, *argv]),
                   machine=machine(args.device, args.threads),
                   settings=dict(warmup=args.warmup, repeats=args.repeats, heavy_repeats=args.heavy_repeats,
                                 min_seconds=args.min_seconds, modes=', '.join(args.modes or ['all']),
                                 train_warmup=args.train_warmup, train_repeats=args.train_repeats, smoke=args.smoke,
                                 ghostnetv2_options=args.ghostnetv2_options or {}),
                   inference=[], train=[])
    with tempfile.TemporaryDirectory() as workdir:
        for case in selected:
            collect(results['inference'], run_case(case, args, workdir), format_inference)
            save(results, args, selected)
    for case in selected:
        if case.train_batch and not args.no_train:
            collect(results['train'], run_train(case, args), format_train)
            save(results, args, selected)
    print(f'\n{format_inference(results["inference"])}\n\n{format_train(results["train"])}')
