"""Interleaved timing of the contenders of a row, and the summary statistics of their times."""
import statistics
import time
from typing import Callable, Dict, List

import torch

MAX_REPEATS = 1000  # timed runs per contender and mode at most, however short a run


def summary(times_ms: List[float]) -> Dict[str, float]:
    """Median, quartiles and count of some wall times.

    Args:
        times_ms: At least one time, in milliseconds.
    """
    quartiles = statistics.quantiles(times_ms, n=4) if len(times_ms) > 1 else [times_ms[0]] * 3
    return dict(median_ms=statistics.median(times_ms), p25_ms=quartiles[0], p75_ms=quartiles[2],
                repeats=len(times_ms))


def time_interleaved(runners: Dict[str, Callable[[], object]], warmup: int, repeats: int,
                     min_seconds: float = 0.0, max_repeats: int = MAX_REPEATS) -> Dict[str, dict]:
    """The :func:`summary` of each runner's wall times; runners alternate run by run (noise hits all).

    Args:
        runners: The functions to time, by name.
        warmup: Untimed runs of each runner first.
        repeats: Timed runs of each runner at least.
        min_seconds: More timed runs until every runner's timed runs add up to this long: a fast model gets
            enough runs for a stable median.
        max_repeats: No more timed runs than this for ``min_seconds``.
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
