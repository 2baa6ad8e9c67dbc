"""Train-step time and memory of each contender, each measured in a fresh process.

The parent (:func:`run_train`) starts, per contender and ``with_cp``, the child
``python -m tools.analysis_tools.benchmark.train_step SPEC`` at the repository root, where ``SPEC`` is a
:class:`TrainSpec` as JSON; the child prints its result on a line that starts with :data:`TRAIN_MARK`.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Iterator, Optional, Sequence

import torch
import torch.nn as nn

from .cases import ROOT, ROW_KEYS, Case, cases
from .timing import summary

TRAIN_MARK = 'TRAIN-RESULT '
SGD = dict(lr=1e-4, momentum=0.9)
WITH_CP = (False, True)  # the train rows of a case: without and with gradient checkpointing
MODULE = __spec__.name  # this module's name, also where it runs as the child (``__main__``)


@dataclass
class TrainSpec:
    """What one child process measures.

    Args:
        case: The case's name.
        which: ``'ours'`` or ``'twin'``.
        with_cp: Gradient checkpointing in the backbone.
        smoke: The cases at their smoke sizes.
        threads: torch threads.
        warmup: Untimed train steps.
        repeats: Timed train steps.
    """
    case: str
    which: str
    with_cp: bool
    smoke: bool
    threads: int
    warmup: int
    repeats: int

    @classmethod
    def from_json(cls, text: str) -> 'TrainSpec':
        """The spec written as JSON by :func:`run_child`.

        Args:
            text: The JSON object.
        """
        return cls(**json.loads(text))


def train_data(case: Case, model: nn.Module, batch: int) -> dict:
    """A packed batch (images + annotations) at the case's training size.

    Args:
        case: The case.
        model: The model (its head's number of classes).
        batch: Images in the batch.
    """
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
    """This process's peak resident set so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(spec: TrainSpec) -> dict:
    """In this (fresh) process: time the train steps of one contender, and the growth of the peak memory.

    Args:
        spec: What to measure.
    """
    from mmengine.optim import OptimWrapper
    case = next(c for c in cases(spec.smoke) if c.name == spec.case)
    overrides = {'backbone.with_cp': spec.with_cp}
    if case.task == 'seg':  # the segmentor's preprocessor pads every image to its crop size
        overrides['data_preprocessor.size'] = case.train_size
    model = (case.ours if spec.which == 'ours' else case.twin).build(overrides).train()
    data = train_data(case, model, case.train_batch)
    optim_wrapper = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], **SGD))
    rss_before = max_rss_mb()
    times = []
    for step in range(spec.warmup + spec.repeats):
        start = time.perf_counter()
        log_vars = model.train_step(data, optim_wrapper)
        times.append((time.perf_counter() - start) * 1000)
        if not torch.isfinite(log_vars['loss']):
            raise RuntimeError(f'{spec.case} {spec.which}: non-finite loss at step {step}')
    return dict(summary(times[spec.warmup:]), peak_rss_mb=max_rss_mb(), rss_growth_mb=max_rss_mb() - rss_before)


def run_child(spec: TrainSpec) -> dict:
    """:func:`measure` in a fresh process at the repository root.

    Args:
        spec: What to measure.

    Raises:
        RuntimeError: the child failed or printed no result.
    """
    command = [sys.executable, '-m', MODULE, json.dumps(asdict(spec))]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(TRAIN_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f'train step of {spec.case} ({spec.which}, with_cp={spec.with_cp}) failed:\n'
                           f'{done.stdout[-2000:]}\n{done.stderr[-4000:]}')
    return json.loads(lines[-1][len(TRAIN_MARK):])


def run_train(case: Case, args: argparse.Namespace) -> Iterator[dict]:
    """The train-step rows of one case, one per :data:`WITH_CP` value as it is measured, at the largest
    thread count of ``--threads``.

    Args:
        case: The case (with ``train_batch``).
        args: The command line (:func:`.cli.parse_args`).
    """
    for with_cp in WITH_CP:
        results = {which: run_child(TrainSpec(case.name, which, with_cp, args.smoke, max(args.threads),
                                              args.train_warmup, args.train_repeats)) for which in ROW_KEYS}
        ours, twin = results['ours'], results['twin']
        yield dict(case=case.name, batch=case.train_batch, size=list(case.train_size), with_cp=with_cp,
                   twin_model=case.twin.label, **{ROW_KEYS[which]: result for which, result in results.items()},
                   speed_ratio=twin['median_ms'] / ours['median_ms'],
                   memory_ratio=ours['rss_growth_mb'] / max(twin['rss_growth_mb'], 1.0))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """The child: measure the :class:`TrainSpec` given as JSON, print the result after :data:`TRAIN_MARK`.

    Args:
        argv: The arguments. Defaults to None (``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog=f'python -m {MODULE}',
                                     description='Train steps of one benchmark contender (started by the benchmark)')
    parser.add_argument('spec', type=TrainSpec.from_json, help='a TrainSpec as JSON')
    spec = parser.parse_args(argv).spec
    torch.set_num_threads(spec.threads)
    torch.manual_seed(0)
    print(TRAIN_MARK + json.dumps(measure(spec)), flush=True)


if __name__ == '__main__':
    main()
