"""tools/gpu_check.sh in its CPU mode (few iterations), and the loss check it relies on."""
import json
import math

import pytest

from tools_helpers import ROOT, import_tool, run_tool

CHECK_LOSSES = ROOT / 'tools' / 'misc' / 'check_losses.py'


def write_scalars(work_dir, losses):
    log = work_dir / '20261130_000000' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    lines = [json.dumps(dict(lr=0.001, loss=loss, iter=i + 1, step=i + 1)) for i, loss in enumerate(losses)]
    lines.insert(1, json.dumps(dict(coco_bbox_mAP=0.1, step=1)))  # a validation entry has no loss
    log.write_text('\n'.join(lines) + '\n')


def test_check_losses_accepts_a_finite_complete_run(tmp_path):
    write_scalars(tmp_path, [2.5, 1.25, 1.0])
    result = run_tool([CHECK_LOSSES, tmp_path, '--iters', 3], tmp_path)
    assert result.stdout.strip() == '3 iterations, loss 2.5 -> 1, all 3 logged finite'


@pytest.mark.parametrize('losses,iters,message', [
    ([2.5, math.nan, math.inf], 3, 'loss nan at iteration 2 (2 non-finite in all)'),
    ([2.5, 1.25], 3, 'the last logged iteration is 2, expected 3'),
])
def test_check_losses_refuses_non_finite_or_short_runs(tmp_path, losses, iters, message):
    write_scalars(tmp_path, losses)
    result = run_tool([CHECK_LOSSES, tmp_path, '--iters', iters], tmp_path, check=False)
    assert result.returncode == 1 and message in result.stdout


def test_check_losses_names_a_work_dir_without_logs(tmp_path):
    result = run_tool([CHECK_LOSSES, tmp_path, '--iters', 1], tmp_path, check=False)
    assert result.returncode == 1 and f'no */vis_data/scalars.json under {tmp_path}' in result.stdout


def test_gpu_check_refuses_a_bad_iteration_count(tmp_path):
    result = run_tool([ROOT / 'tools' / 'gpu_check.sh'], tmp_path, check=False,
                      env=dict(GPU_CHECK_ITERS='ten', GPU_CHECK_WORK_DIR=str(tmp_path / 'work')))
    assert result.returncode == 2
    assert "GPU_CHECK_ITERS must be a positive integer, got 'ten'" in result.stderr


def test_gpu_check_on_cpu_trains_both_demos_and_skips_what_needs_cuda(tmp_path):
    work = tmp_path / 'work'
    result = run_tool([ROOT / 'tools' / 'gpu_check.sh'], tmp_path, timeout=900,
                      env=dict(GPU_CHECK_ITERS='2', GPU_CHECK_WORK_DIR=str(work), CUDA_VISIBLE_DEVICES=''))
    lines = result.stdout.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith('mmghost GPU check:'))
    assert '0 GPU(s) (cpu), 2 iterations' in lines[title]
    rows = [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[title + 3:]]
    assert [(row[0], row[1]) for row in rows] == [
        ('mmcv CUDA ops', 'SKIP'), ('train detector', 'PASS'), ('train segmentor', 'PASS'),
        ('dist_train.sh 2 GPUs SyncBN', 'SKIP'), ('benchmark.py --device cuda', 'SKIP')]
    for row in rows[1:3]:
        assert row[3].startswith('cpu fp32 (AMP skipped: no CUDA): 2 iterations, loss ')
        assert row[3].endswith('all 2 logged finite')
    assert rows[0][3] == rows[4][3] == 'no CUDA device'
    assert rows[3][3] == 'needs 2 CUDA devices, found 0'
    assert (work / 'det').is_dir() and (work / 'seg').is_dir()


def test_the_benchmark_step_uses_options_the_benchmark_has(monkeypatch):
    """The GPU-only step cannot run here; its command line must still parse (with CUDA pretended)."""
    import re
    import shlex

    import torch
    script = (ROOT / 'tools' / 'gpu_check.sh').read_text().replace('\\\n', ' ')
    line = re.search(r'-m tools\.analysis_tools\.benchmark (.*?)\) \|\| return 1', script).group(1)
    argv = shlex.split(line.replace('"$WORK', '"/tmp/work'))
    cli = import_tool('tools.analysis_tools.benchmark.cli')
    cases = import_tool('tools.analysis_tools.benchmark.cases').cases(smoke=True)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    args = cli.parse_args(argv)
    assert args.device == 'cuda' and args.no_train
    assert all(any(case.name.startswith(prefix) for case in cases) for prefix in args.cases)
