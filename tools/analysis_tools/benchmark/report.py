"""Text tables of the measured rows, and the markdown report of a run, described from what was measured.

The modes come from :data:`.modes.MODES`, the contenders from :mod:`.cases`, the machine, the command and
the settings from the results themselves.
"""
from typing import Dict, List, Mapping, Optional, Sequence

from .cases import Case
from .modes import INT8_MODE, MODES, float_modes
from .profiles import PROFILERS, TOP_OPS
from .timing import BLOCK_SECONDS, MAX_REPEATS, SETTLE_SECONDS
from .train_step import SGD, WITH_CP

SAME_OUTPUT = 1e-3  # a mode's output differs from eager at this relative difference or more
INFERENCE_TERMS = {
    'speed ratio': 'twin time / GhostNetV2 time (> 1: GhostNetV2 faster)',
    'GMACs': 'Conv2d and Linear multiply-adds (`mmghost.analysis.conv_linear_macs`)',
    'MAC ratio': 'GhostNetV2 / twin (< 1: GhostNetV2 cheaper)',
    'output differs from eager': f'max |output - eager output| / max |eager output|, shown from {SAME_OUTPUT:g}',
}
TRAIN_TERMS = {
    'speed ratio': INFERENCE_TERMS['speed ratio'],
    'memory growth': "the growth of the process's peak resident set (`getrusage` maxrss) over the train steps "
                     '(the peak after building the model and data is the baseline), so it counts activations, '
                     "gradients and optimizer state; the process's whole peak is in brackets",
    'memory ratio': 'GhostNetV2 / twin memory growth (< 1: GhostNetV2 needs less)',
}


def format_inference(rows: Sequence[dict]) -> str:
    """The inference table.

    Args:
        rows: Inference rows (:func:`.inference.run_case`).
    """
    lines = ['| model | input | mode | threads | GhostNetV2 ms (p25-p75) | twin | twin ms (p25-p75) | speed ratio | '
             'GMACs GhostNetV2 / twin | MAC ratio | params (M) GhostNetV2 / twin |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        ours, twin = row['ghostnetv2'], row['twin']
        flag = '' if max(ours['rel_diff_vs_eager'], twin['rel_diff_vs_eager']) < SAME_OUTPUT else \
            f' (output differs from eager: {ours["rel_diff_vs_eager"]:.1e} / {twin["rel_diff_vs_eager"]:.1e})'
        lines.append(
            f'| {row["case"]} | {row["size"][0]}x{row["size"][1]} | {row["mode"]}{flag} | {row["threads"]} | '
            f'{ours["median_ms"]:.1f} ({ours["p25_ms"]:.1f}-{ours["p75_ms"]:.1f}) | {row["twin_model"]} | '
            f'{twin["median_ms"]:.1f} ({twin["p25_ms"]:.1f}-{twin["p75_ms"]:.1f}) | **{row["speed_ratio"]:.2f}x** | '
            f'{ours["macs"] / 1e9:.2f} / {twin["macs"] / 1e9:.2f} | {row["mac_ratio"]:.2f} | '
            f'{ours["params"] / 1e6:.2f} / {twin["params"] / 1e6:.2f} |')
    return '\n'.join(lines)


def fastest(rows: Sequence[dict], which: str) -> dict:
    """The row where one contender is fastest among rows whose outputs equal eager's.

    Args:
        rows: Inference rows of one case and thread count.
        which: ``'ghostnetv2'`` or ``'twin'``.
    """
    accurate = [r for r in rows if r['mode'] in float_modes() and r[which]['rel_diff_vs_eager'] < SAME_OUTPUT]
    return min(accurate, key=lambda r: r[which]['median_ms'])


def best_against_best(rows: Sequence[dict]) -> List[dict]:
    """Per case and thread count: each contender's fastest accurate mode, and the ratio of the two times.

    Args:
        rows: Inference rows.
    """
    groups: Dict[tuple, List[dict]] = {}
    for row in rows:
        groups.setdefault((row['case'], row['threads']), []).append(row)
    best = []
    for (case, threads), group in groups.items():
        ours, twin = fastest(group, 'ghostnetv2'), fastest(group, 'twin')
        best.append(dict(case=case, threads=threads, size=ours['size'], twin_model=ours['twin_model'],
                         ours_mode=ours['mode'], ours_ms=ours['ghostnetv2']['median_ms'], twin_mode=twin['mode'],
                         twin_ms=twin['twin']['median_ms'],
                         speed_ratio=twin['twin']['median_ms'] / ours['ghostnetv2']['median_ms'],
                         ceiling=ceiling(ours['ghostnetv2'], ours['twin'])))
    return best


def ceiling(ours: Mapping[str, float], twin: Mapping[str, float]) -> Optional[float]:
    """An estimate of the speed ratio GhostNetV2 would reach with a backbone that took no time and the rest at the
    twin's time per MAC: twin MACs / GhostNetV2's MACs outside the backbone. None for a bare backbone.

    Args:
        ours: GhostNetV2's entry of a row (``macs``, ``backbone_macs``).
        twin: The twin's entry of the same row (``macs``).
    """
    rest = ours['macs'] - ours['backbone_macs']
    return twin['macs'] / rest if rest > 0 else None


def format_best(rows: Sequence[dict]) -> str:
    """The table of :func:`best_against_best`.

    Args:
        rows: Inference rows.
    """
    lines = ['| model | input | threads | GhostNetV2: fastest mode | ms | twin | twin: fastest mode | ms | '
             'speed ratio | ceiling |', '|---|---|---|---|---|---|---|---|---|---|']
    lines += [f'| {b["case"]} | {b["size"][0]}x{b["size"][1]} | {b["threads"]} | {b["ours_mode"]} | '
              f'{b["ours_ms"]:.1f} | {b["twin_model"]} | {b["twin_mode"]} | {b["twin_ms"]:.1f} | '
              f'**{b["speed_ratio"]:.2f}x** | {"-" if b["ceiling"] is None else format(b["ceiling"], ".2f") + "x"} |'
              for b in best_against_best(rows)]
    return '\n'.join(lines)


def format_train(rows: Sequence[dict]) -> str:
    """The train-step table.

    Args:
        rows: Train rows (:func:`.train_step.run_train`).
    """
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


def format_profiles(rows: Sequence[dict]) -> str:
    """One operator table per profiled row; empty without any.

    Args:
        rows: Inference rows.
    """
    parts = []
    for row in rows:
        if 'profile' not in row:
            continue
        profile = row['profile']
        parts.append(f'**{row["case"]} {row["size"][0]}x{row["size"][1]}, {row["mode"]}, {row["threads"]} thread(s): '
                     f'{row["speed_ratio"]:.2f}x.** '
                     f'Profiled op time {profile["ours_total_ms"]:.1f} ms (GhostNetV2; timed run '
                     f'{row["ghostnetv2"]["median_ms"]:.1f} ms) vs {profile["twin_total_ms"]:.1f} ms '
                     f'({row["twin_model"]}; timed run {row["twin"]["median_ms"]:.1f} ms); largest excess: '
                     f'`{profile["largest_excess_op"]}` (+{profile["largest_excess_ms"]:.1f} ms).\n\n'
                     '| op | GhostNetV2 ms (calls) | twin ms (calls) |\n|---|---|---|\n' + '\n'.join(
                         f'| `{op["op"]}` | {op["ours_ms"]:.1f} ({op["ours_calls"]}) | {op["twin_ms"]:.1f} '
                         f'({op["twin_calls"]}) |' for op in profile['top']))
    return '\n\n'.join(parts)


def format_int8(rows: Sequence[dict]) -> str:
    """What static int8 quantization does to each model's onnxruntime time (float time / int8 time).

    Args:
        rows: Inference rows; those of :data:`.modes.INT8_MODE` are compared with their float rows.
    """
    float_rows = {(r['case'], r['threads']): r for r in rows if r['mode'] == 'onnxruntime'}
    lines = []
    for row in rows:
        if row['mode'] != INT8_MODE:
            continue
        float_row = float_rows[row['case'], row['threads']]
        float_ms = {which: float_row[which]['median_ms'] for which in ('ghostnetv2', 'twin')}
        change = {which: f'{ms:.1f} ms float -> {row[which]["median_ms"]:.1f} ms int8 '
                         f'(**{ms / row[which]["median_ms"]:.2f}x**)' for which, ms in float_ms.items()}
        lines.append(f'- {row["case"]} {row["size"][0]}x{row["size"][1]}, {row["threads"]} thread(s): '
                     f'GhostNetV2 {change["ghostnetv2"]}; '
                     f'{row["twin_model"]} {change["twin"]}.')
    return '\n'.join(lines)


def shortfalls(rows: Sequence[dict]) -> List[str]:
    """The target-mode rows where GhostNetV2 is slower than its twin, as ``'CASE MODE RATIOx'``.

    Args:
        rows: Inference rows.
    """
    return [f'{r["case"]} {r["mode"]} ({r["threads"]} thread(s)) {r["speed_ratio"]:.2f}x' for r in rows
            if MODES[r['mode']].target and r['speed_ratio'] < 1.0]


def format_keys(values: Mapping[str, object]) -> str:
    """A one-row table with a column per key.

    Args:
        values: The values by key.
    """
    return '\n'.join(['| ' + ' | '.join(values) + ' |', '|---' * len(values) + '|',
                      '| ' + ' | '.join(map(str, values.values())) + ' |'])


def format_terms(terms: Dict[str, str]) -> str:
    """A list of the terms of a table and their meanings.

    Args:
        terms: The meanings by term.
    """
    return '\n'.join(f'- **{term}**: {meaning}.' for term, meaning in terms.items())


def format_ablation(options: Mapping[str, object]) -> str:
    """The warning of an ablation run (``--ghostnetv2-options``), or nothing.

    Args:
        options: The overrides every GhostNetV2 model was built with.
    """
    if not options:
        return ''
    overrides = ', '.join(f'`{key}={value}`' for key, value in options.items())
    return (f'**Ablation: every GhostNetV2 model here is built with {overrides}** (`--ghostnetv2-options`). '
            'These are not the models of the configs: the rows measure what those settings change, against the '
            'same twins.')


def format_contenders(selected: Sequence[Case]) -> str:
    """What each case compares: both models and what they are built from.

    Args:
        selected: The cases of the run.
    """
    lines = ['| case | GhostNetV2 built from | twin | twin built from |', '|---|---|---|---|']
    lines += [f'| {c.name} | {c.ours.describe()} | {c.twin.label} | {c.twin.describe()} |' for c in selected]
    return '\n'.join(lines)


def format_modes(names: Sequence[str]) -> str:
    """The modes' table: runtime, what runs, whether GhostNetV2 is to be at least as fast as its twin.

    Args:
        names: Modes of :data:`.modes.MODES`.
    """
    lines = ['| mode | runtime | what runs | target (GhostNetV2 at least as fast) |', '|---|---|---|---|']
    for name in names:
        mode = MODES[name]
        lines.append(f'| {name} | {mode.runtime} | {mode.description} | {"yes" if mode.target else "no"} |')
    return '\n'.join(lines)


def report(results: dict, selected: Sequence[Case]) -> str:
    """The markdown report of a run.

    Args:
        results: The results (:func:`.cli.main`: date, command, machine, settings, inference and train rows).
        selected: The cases of the run.
    """
    settings, rows = results['settings'], results['inference']
    measured = [name for name in MODES if any(row['mode'] == name for row in rows)]
    targets = [name for name in measured if MODES[name].target]
    heavy = ', '.join(case.name for case in selected if case.heavy) or 'none'
    short = shortfalls(rows)
    int8 = format_int8(rows)
    profiled: Dict[str, List[str]] = {}  # the target modes by the profiler of their runtime
    for name in targets:
        profiled.setdefault(PROFILERS[MODES[name].runtime], []).append(name)
    sections = [
        '# Benchmarks: GhostNetV2 models against their MobileNetV2 twins',
        f'Generated on {results["date"]} by `{results["command"]}`.',
        '## Machine and settings',
        format_keys(results['machine']),
        format_keys(settings),
        f'Both contenders of a row take turns in the same process, in blocks of {BLOCK_SECONDS:g} s each after an '
        f'idle pause of {SETTLE_SECONDS:g} s (so that neither runs while the other\'s runtime threads still spin), '
        'with the runtimes\' default threading: compare the ratios, not absolute times across runs.',
        '## Contenders',
        "Each GhostNetV2 model against a twin with the same neck and head and mmdet's/mmseg's MobileNetV2 as "
        'backbone; batch 1, random weights and BatchNorm statistics.',
        format_ablation(settings['ghostnetv2_options']),
        format_contenders(selected),
        '## Modes',
        format_modes(measured),
        f'Median of {settings["repeats"]} runs ({settings["heavy_repeats"]} for the heavy cases: {heavy}), or of '
        f'more until each contender has run for {settings["min_seconds"]:g} s in the mode (up to {MAX_REPEATS} '
        f'runs; the JSON has each row\'s count), after {settings["warmup"]} warm-up run(s).',
        '## Inference',
        format_inference(rows),
        format_terms(INFERENCE_TERMS),
        f'Rows of the target modes ({", ".join(targets)}) below 1.0x: {", ".join(short) if short else "none"}.',
        '### Fastest runtime against fastest runtime',
        "Per model and thread count, each contender's fastest mode among those whose outputs equal eager's "
        f'(relative difference below {SAME_OUTPUT:g}); speed ratio = twin time / GhostNetV2 time. **ceiling**: '
        "the speed ratio GhostNetV2 would reach if its backbone took no time and its neck and head ran at the twin's "
        'time per multiply-add (twin MACs / GhostNetV2 MACs outside the backbone). An estimate, not a bound (the '
        'time per multiply-add differs between operators): a model whose ceiling is near or below a target will '
        'not reach it by a faster backbone.',
        format_best(rows),
        int8 and f'**{INT8_MODE}** against the float `onnxruntime` rows (> 1: int8 faster):\n\n{int8}',
        '## Training step',
        f'`train_step` with SGD (lr {SGD["lr"]:g}, momentum {SGD["momentum"]:g}), with_cp '
        f'{" and ".join(map(str, WITH_CP))}, each contender in a fresh process with '
        f'{max(results["machine"]["threads"])} torch threads: median of '
        f'{settings["train_repeats"]} step(s) after {settings["train_warmup"]} untimed step(s).',
        format_train(results['train']) if results['train'] else 'Not run (--no-train).',
        format_terms(TRAIN_TERMS),
        '## Where GhostNetV2 falls short',
        'Per-operator self time after an untimed run ('
        + '; '.join(f'{profiler} for {", ".join(names)}' for profiler, names in profiled.items())
        + f') of the target-mode rows where GhostNetV2 is slower (all of them with `--profile-all`): the {TOP_OPS} '
        "most expensive operators of GhostNetV2 beside the twin's figures for the same operator, and each "
        "profile's total beside the row's timed run.",
        format_profiles(rows) or 'No row was profiled.',
    ]
    return '\n\n'.join(section for section in sections if section) + '\n'
