"""Check a finished training run's logged losses: every one finite, and the run reached its last iteration.

Reads ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (mmengine's per-iteration scalars) of the newest run
in the work dir. Prints one line (iterations, first and last loss); exits 1 naming the first bad entry.

    python tools/misc/check_losses.py work_dirs/gpu_check/det --iters 200
"""
import argparse
import json
import math
import sys
from pathlib import Path
from typing import List, Tuple


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check that a training run logged only finite losses')
    parser.add_argument('work_dir', type=Path, help='the --work-dir of the training run')
    parser.add_argument('--iters', type=int, required=True, help='the iteration the run must have reached')
    args = parser.parse_args()
    if args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    return args


def training_losses(work_dir: Path) -> List[Tuple[int, float]]:
    """``(iteration, loss)`` of every logged training iteration of the newest run in ``work_dir``."""
    logs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not logs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did the training run start?')
    with open(logs[-1]) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    return [(entry['iter'], float(entry['loss'])) for entry in entries if 'loss' in entry and 'iter' in entry]


def check_losses(work_dir: Path, iters: int) -> str:
    """A one-line summary of the run's losses; ValueError if one is not finite or the run stopped early."""
    losses = training_losses(work_dir)
    if not losses:
        raise ValueError(f'{work_dir}: no training loss was logged')
    bad = [(it, loss) for it, loss in losses if not math.isfinite(loss)]
    if bad:
        raise ValueError(f'{work_dir}: loss {bad[0][1]} at iteration {bad[0][0]} ({len(bad)} non-finite in all)')
    last_iter = losses[-1][0]
    if last_iter != iters:
        raise ValueError(f'{work_dir}: the last logged iteration is {last_iter}, expected {iters}')
    return f'{iters} iterations, loss {losses[0][1]:.4g} -> {losses[-1][1]:.4g}, all {len(losses)} logged finite'


def main() -> None:
    args = parse_args()
    try:
        print(check_losses(args.work_dir, args.iters))
    except (OSError, ValueError) as error:
        print(error)
        sys.exit(1)


if __name__ == '__main__':
    main()
