"""Kill-and-resume exactness, atomic checkpoint writes, and refusal of checkpoints that run code."""
import os
import pickle
import subprocess
import sys
import time

import pytest
import torch

from mmghost.demo_data import make_detection_dataset
from cli_utils import latest_loadable_checkpoint
from mmghost.utils import atomic_write
from mmghost.models import GhostNetV2
from mmghost.utils import load_checkpoint_file
from tools_helpers import CHECKPOINT_TOOLS, ROOT, checkpoint_tool_args, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
TRAIN = ROOT / 'tools' / 'train.py'
# 3 epochs of 2 iterations, a checkpoint and a validation after every epoch, deterministic settings.
OPTIONS = ['--cfg-options', 'train_cfg.max_epochs=3', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
           'default_hooks.checkpoint.max_keep_ckpts=3', 'randomness.seed=0', 'randomness.deterministic=True']


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    path = tmp_path_factory.mktemp('resume')
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=16, num_val=4, seed=7)
    return path


def final_state(work_dir):
    return load_checkpoint_file(str(work_dir / 'epoch_3.pth'))['state_dict']


@pytest.fixture(scope='module')
def uninterrupted(workspace):
    work_dir = workspace / 'uninterrupted'
    run_tool([TRAIN, CONFIG, '--work-dir', work_dir, *OPTIONS], workspace)
    return final_state(work_dir)


# Where the killed run stops (see kill_points.py): mid-epoch 2 after its first iteration; in epoch 2's
# checkpoint save before the file is written; during epoch 2's validation, after its checkpoint.
KILL_AT = [('after_train_iter', 2), ('before_save_checkpoint', 4), ('before_val_iter', 4)]


@pytest.mark.parametrize('point,iteration', KILL_AT)
def test_killed_and_resumed_run_ends_with_the_same_weights(workspace, uninterrupted, point, iteration):
    """SIGKILL at a point fixed by training progress (not by time), then --resume: the same final weights."""
    work_dir = workspace / f'killed_{point}'
    marker = workspace / f'halted_{point}'
    config = workspace / f'halt_{point}.py'
    config.write_text(
        f"_base_ = '{CONFIG}'\n"
        "custom_imports = dict(imports=['mmghost', 'kill_points'], allow_failed_imports=False)\n"
        f"custom_hooks = _base_.custom_hooks + [dict(type='HaltAtKillPointHook', point='{point}', "
        f"iteration={iteration}, marker='{marker}')]\n")
    command = [sys.executable, str(TRAIN), str(config), '--work-dir', str(work_dir), *OPTIONS]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join([str(ROOT / 'tests'), str(ROOT)]))
    log = workspace / f'halt_{point}.log'
    with open(log, 'w') as output:
        process = subprocess.Popen(command, cwd=workspace, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:  # a hang guard only: the kill point is reached by progress, whatever the machine's speed
            deadline = time.monotonic() + 1800
            while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.kill()  # SIGKILL
            process.wait()
    assert marker.exists(), f'the run never reached {point}: {log.read_text()[-3000:]}'
    assert not (work_dir / 'epoch_3.pth').exists()
    run_tool([TRAIN, CONFIG, '--work-dir', work_dir, '--resume', *OPTIONS], workspace)
    resumed = final_state(work_dir)
    assert resumed.keys() == uninterrupted.keys()
    for key, value in uninterrupted.items():
        assert torch.equal(resumed[key], value), key


def test_truncated_last_checkpoint_is_reported_and_the_previous_one_used(workspace, uninterrupted):
    work_dir = workspace / 'truncated'
    source = workspace / 'uninterrupted'
    work_dir.mkdir()
    for epoch in (1, 2):
        (work_dir / f'epoch_{epoch}.pth').write_bytes((source / f'epoch_{epoch}.pth').read_bytes())
    data = (work_dir / 'epoch_2.pth').read_bytes()
    (work_dir / 'epoch_2.pth').write_bytes(data[:len(data) // 2])  # as a kill mid-write used to leave it
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_2.pth'))
    assert latest_loadable_checkpoint(str(work_dir)) == str(work_dir / 'epoch_1.pth')
    result = run_tool([TRAIN, CONFIG, '--work-dir', work_dir, '--resume', *OPTIONS], workspace)
    log = result.stdout + result.stderr
    assert f'Not resuming from {work_dir / "epoch_2.pth"}' in log and 'resumed epoch: 1' in log
    resumed = final_state(work_dir)
    assert all(torch.equal(resumed[k], v) for k, v in uninterrupted.items())


def test_atomic_write_leaves_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    target.write_bytes(b'old complete checkpoint')

    def crash(src, dst):
        raise KeyboardInterrupt('killed before the rename')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b'new checkpoint')
    assert target.read_bytes() == b'old complete checkpoint'
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


class Exploit:
    """Unpickling this creates a file: what a malicious checkpoint would do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'malicious.pth'
    with open(path, 'wb') as f:
        torch.save({'state_dict': {}, 'meta': Exploit(str(marker))}, f, pickle_module=pickle)
    return path, marker


def test_malicious_checkpoint_is_refused_without_running_code(malicious):
    path, marker = malicious
    with pytest.raises(ValueError, match='refusing to load'):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_pretrained_init_refuses_the_malicious_checkpoint(malicious):
    path, marker = malicious
    with pytest.raises(ValueError, match='refusing to load'):
        GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    assert not marker.exists()


@pytest.mark.parametrize('tool', CHECKPOINT_TOOLS)
def test_every_tool_refuses_the_malicious_checkpoint(malicious, workspace, tool):
    path, marker = malicious
    result = run_tool(checkpoint_tool_args(tool, CONFIG, path), workspace, check=False)
    assert result.returncode != 0
    assert 'refusing to load' in result.stderr
    assert not marker.exists()
