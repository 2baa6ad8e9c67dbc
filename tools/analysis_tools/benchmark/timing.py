"""Timing of the contenders of a row, taking turns in blocks, and the summary statistics of their times."""
import statistics
import time
from typing import Callable, Dict, List

import torch

MAX_REPEATS = 1000  # timed runs per contender and mode at most, however short a run
# Each contender runs alone for a block this long, after an idle pause. Run by run, a runtime's idle threads
# still spin on the cores when the other contender starts: onnxruntime's did for 30-80 ms and made the first
# runs after a switch up to 2x slower (2-core AMD EPYC, 2026-12-07); a 0.1 s pause removed it.
BLOCK_SECONDS = 0.5
SETTLE_SECONDS = 0.1


def summary(times_ms: List[float]) -> Dict[str, float]:
    """Median, quartiles and count of some wall times.

    Args:
        times_ms: At least one time, in milliseconds.
    """
    quartiles = statistics.quantiles(times_ms, n=4) if len(times_ms) > 1 else [times_ms[0]] * 3
    return dict(median_ms=statistics.median(times_ms), p25_ms=quartiles[0], p75_ms=quartiles[2],
                repeats=len(times_ms))


def time_interleaved(runners: Dict[str, Callable[[], object]], warmup: int, repeats: int,
                     min_seconds: float = 0.0, max_repeats: int = MAX_REPEATS, block_seconds: float = BLOCK_SECONDS,
                     settle_seconds: float = SETTLE_SECONDS) -> Dict[str, dict]:
    """The :func:`summary` of each runner's wall times. The runners take turns in blocks, so that noise hits
    all of them and none runs while another runtime's threads are still busy: before each block the process
    sleeps ``settle_seconds``, then the runner runs until the block has lasted ``block_seconds`` or it has
    all its runs (at least one run a block).

    Args:
        runners: The functions to time, by name.
        warmup: Untimed runs of each runner first.
        repeats: Timed runs of each runner at least.
        min_seconds: More timed runs until every runner's timed runs add up to this long: a fast model gets
            enough runs for a stable median.
        max_repeats: No more timed runs than this for ``min_seconds``.
        block_seconds: How long one runner runs before the next one's turn.
        settle_seconds: The idle pause before each block.
    """
    for _ in range(warmup):
        for run in runners.values():
            run()
    times: Dict[str, List[float]] = {name: [] for name in runners}

    def wants_more(values: List[float]) -> bool:
        return len(values) < repeats or sum(values) < min_seconds * 1000 and len(values) < max_repeats

    while any(wants_more(values) for values in times.values()):
        for name, run in runners.items():
            values = times[name]
            time.sleep(settle_seconds)
            block_start = time.perf_counter()
            while True:
                start = time.perf_counter()
                run()
                values.append((time.perf_counter() - start) * 1000)
                if time.perf_counter() - block_start >= block_seconds or not wants_more(values):
                    break
    return {name: summary(values) for name, values in times.items()}


def synchronized(run: Callable[[], object]) -> Callable[[], object]:
    """``run``, returning only once the GPU has finished (``run`` itself without CUDA in use).

    Args:
        run: The function to time.
    """
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return run

    def run_and_wait() -> object:
        result = run()
        torch.cuda.synchronize()
        return result
    return run_and_wait
