"""FiniteLossHook and ResumableRandomnessHook on 2 gloo processes (tools/dist_train.sh), and their logic."""
import random
import re
from pathlib import Path
from types import SimpleNamespace
from typing import List, Sequence

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from dist_probes import rng_digest
from mmghost.demo_data import make_detection_dataset, make_segmentation_dataset
from mmghost.engine.hooks.resumable_randomness_hook import (checkpoint_saves_now, get_rng_states, rank_rng_states,
                                                          seeded_rng_states)
from tools_helpers import ROOT, free_port, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
DIST_TRAIN, TRAIN = ROOT / 'tools' / 'dist_train.sh', ROOT / 'tools' / 'train.py'
# 8 train images, 2 per batch: 2 iterations per epoch on each of 2 processes, 4 in one process. 64 px images.
SMALL = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.dataset.pipeline.2.scale=(64,64)']
NO_VAL = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
TIMEOUT = 1200  # a hang guard, below gloo's 30-minute collective timeout: a rank left waiting fails the test
SEED = 5


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('dist_hooks')
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=8, num_val=2, seed=3)
    return path


def config_with_hooks(path: Path, extra_hooks: List[dict]) -> Path:
    """A config inheriting the demo detector, its custom hooks plus ``extra_hooks`` (from dist_probes)."""
    hooks = [dict(hook) for hook in Config.fromfile(CONFIG).custom_hooks] + extra_hooks
    path.write_text(f'_base_ = {str(CONFIG)!r}\n'
                    "custom_imports = dict(imports=['mmghost', 'dist_probes'], allow_failed_imports=False)\n"
                    f'custom_hooks = {hooks!r}\n')
    return path


def train(workspace: Path, config: Path, work_dir: Path, processes: int, options: Sequence[str], *args: str,
          check: bool = True):
    """tools/train.py (1 process) or tools/dist_train.sh (2), with dist_probes importable."""
    env = dict(PYTHONPATH=str(ROOT / 'tests'), PORT=str(free_port()))
    command = [TRAIN, config] if processes == 1 else [DIST_TRAIN, config, processes]
    return run_tool([*command, '--work-dir', work_dir, *args, '--cfg-options', *SMALL, *options], workspace,
                    timeout=TIMEOUT, env=env, check=check)


def test_finite_loss_hook_stops_every_rank_at_the_iteration_where_one_rank_saw_nan(workspace):
    config = config_with_hooks(workspace / 'nan_on_rank1.py', [dict(type='PoisonRankHook', rank=1, iteration=3)])
    result = train(workspace, config, workspace / 'nan', 2, ['train_cfg.max_epochs=3'], check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    # iteration 3 is the first of epoch 2; rank 0's own loss is still finite there (it would turn NaN at
    # iteration 4, after the all-reduce of rank 1's NaN gradients), yet it stops at 3 as well
    message = 'FloatingPointError: loss became nan at iteration 3 (epoch 2, batch 1) on rank(s) [1] of 2; loss=nan'
    raised = re.findall(r'^(\[rank\d\]: )?' + re.escape(message), log, flags=re.MULTILINE)  # torchrun may prefix
    assert sorted(raised) in (['', ''], ['[rank0]: ', '[rank1]: ']), log[-6000:]  # each rank raised it


def digests_at_epoch(work_dir: Path, epoch: int, processes: int) -> List[str]:
    return [(work_dir / f'rng_rank{rank}_epoch{epoch}.txt').read_text() for rank in range(processes)]


def saved_states(work_dir: Path) -> tuple:
    meta = torch.load(work_dir / 'epoch_1.pth', weights_only=False)['meta']
    return meta['rng_states'], meta['seed']


@pytest.fixture(scope='module')
def probe_config(workspace) -> Path:
    return config_with_hooks(workspace / 'probe.py', [dict(type='RandomStateProbeHook')])


def resume(workspace: Path, probe_config: Path, saved_dir: Path, work_dir: Path, processes: int):
    """Resume the epoch-1 checkpoint of ``saved_dir`` for epoch 2 in ``work_dir`` on ``processes``."""
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes((saved_dir / 'epoch_1.pth').read_bytes())
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    return train(workspace, probe_config, work_dir, processes,
                 ['train_cfg.max_epochs=2', 'randomness.diff_rank_seed=True', f'randomness.seed={SEED}', *NO_VAL],
                 '--resume')


@pytest.fixture(scope='module')
def saved_by_two(workspace, probe_config) -> Path:
    """Two epochs on 2 processes with different seeds per rank, a checkpoint after each (epoch_1.pth)."""
    work_dir = workspace / 'saved_by_two'
    train(workspace, probe_config, work_dir, 2,
          ['train_cfg.max_epochs=2', 'default_hooks.checkpoint.interval=1', 'randomness.diff_rank_seed=True',
           f'randomness.seed={SEED}', *NO_VAL])
    return work_dir


def test_each_rank_saves_its_own_random_states(saved_by_two):
    states, _ = saved_states(saved_by_two)
    assert len(states) == 2
    assert rng_digest(states[0]) != rng_digest(states[1])


def test_two_ranks_resume_their_own_states(workspace, probe_config, saved_by_two):
    """Each rank of the resumed run starts epoch 2 where the same rank of the uninterrupted run did."""
    states, _ = saved_states(saved_by_two)
    uninterrupted = digests_at_epoch(saved_by_two, 2, 2)
    assert uninterrupted == [rng_digest(states[0]), rng_digest(states[1])]
    work_dir = workspace / 'resumed_by_two'
    resume(workspace, probe_config, saved_by_two, work_dir, 2)
    assert digests_at_epoch(work_dir, 2, 2) == uninterrupted


def test_one_process_resumes_rank_0s_states_of_a_two_process_run(workspace, probe_config, saved_by_two):
    states, _ = saved_states(saved_by_two)
    work_dir = workspace / 'resumed_by_one'
    result = resume(workspace, probe_config, saved_by_two, work_dir, 1)
    assert digests_at_epoch(work_dir, 2, 1) == [rng_digest(states[0])]
    assert 'holds random states of 2 rank(s), this run has 1' in result.stdout + result.stderr


def test_a_rank_without_saved_states_starts_from_seed_plus_rank(workspace, probe_config):
    saved_dir = workspace / 'saved_by_one'
    train(workspace, probe_config, saved_dir, 1,
          ['train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1', 'randomness.diff_rank_seed=True',
           f'randomness.seed={SEED}', *NO_VAL])
    states, seed = saved_states(saved_dir)
    assert len(states) == 1 and seed == SEED
    work_dir = workspace / 'resumed_by_two_from_one'
    resume(workspace, probe_config, saved_dir, work_dir, 2)
    assert digests_at_epoch(work_dir, 2, 2) == [rng_digest(states[0]), rng_digest(seeded_rng_states(SEED + 1))]


def test_seeded_states_are_what_seeding_the_generators_gives():
    saved = get_rng_states()
    try:
        random.seed(123)
        np.random.seed(123)
        torch.manual_seed(123)
        assert rng_digest(get_rng_states()) == rng_digest(seeded_rng_states(123))
    finally:
        random.setstate(saved['python'])
        np.random.set_state(saved['numpy'])
        torch.set_rng_state(saved['torch'])


def test_rank_states_take_the_own_entry_else_seed_plus_rank():
    entries = [seeded_rng_states(10), seeded_rng_states(20)]
    assert rng_digest(rank_rng_states(entries, rank=1, seed=7)) == rng_digest(entries[1])
    assert rng_digest(rank_rng_states(entries, rank=3, seed=100)) == rng_digest(seeded_rng_states(103))
    # a checkpoint of the single-process format holds one dict: rank 0's
    assert rng_digest(rank_rng_states(entries[0], rank=0, seed=7)) == rng_digest(entries[0])
    assert rng_digest(rank_rng_states(entries[0], rank=1, seed=7)) == rng_digest(seeded_rng_states(8))


def test_checkpoint_saves_now_follows_the_checkpoint_hooks_schedule():
    epoch_hook = CheckpointHook(interval=3)
    iter_hook = CheckpointHook(interval=50, by_epoch=False, save_last=False)
    runner = SimpleNamespace(hooks=[epoch_hook], epoch=2, iter=0, max_epochs=12, max_iters=1000)
    assert checkpoint_saves_now(runner, by_epoch=True)  # end of epoch 3
    assert not checkpoint_saves_now(runner, by_epoch=False)
    runner.epoch = 3
    assert not checkpoint_saves_now(runner, by_epoch=True)
    runner.epoch = 11
    assert checkpoint_saves_now(runner, by_epoch=True)  # the last epoch (save_last)
    runner = SimpleNamespace(hooks=[iter_hook], epoch=0, iter=49, max_epochs=1, max_iters=999)
    assert checkpoint_saves_now(runner, by_epoch=False) and not checkpoint_saves_now(runner, by_epoch=True)
    runner.iter = 998  # not a multiple of 50; the last iteration is not saved either (save_last=False)
    assert not checkpoint_saves_now(runner, by_epoch=False)


def test_iteration_based_two_process_checkpoint_holds_both_ranks_states(tmp_path):
    """The ADE20K configs train by iterations: the states are gathered where CheckpointHook saves."""
    make_segmentation_dataset(str(tmp_path / 'data' / 'demo_ade' / 'ADEChallengeData2016'), num_train=4, num_val=1,
                              seed=2)
    config = ROOT / 'configs' / 'demo' / 'deeplabv3_ghostnetv2_demo.py'
    work_dir = tmp_path / 'work'
    run_tool([DIST_TRAIN, config, 2, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_iters=2',
              'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
              'randomness.diff_rank_seed=True', *NO_VAL], tmp_path, timeout=TIMEOUT, env=dict(PORT=str(free_port())))
    states = torch.load(work_dir / 'iter_2.pth', weights_only=False)['meta']['rng_states']
    assert len(states) == 2 and rng_digest(states[0]) != rng_digest(states[1])


def test_shutdown_runtime_destroys_the_process_group_and_is_a_no_op_without_one(tmp_path):
    import torch.distributed as dist
    from cli_utils import shutdown_runtime
    shutdown_runtime()  # no process group: nothing to do
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0, world_size=1)
    assert dist.is_initialized()
    shutdown_runtime()
    assert not dist.is_initialized()
