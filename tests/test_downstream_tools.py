"""Train two epochs, resume, and test the demo configs through the project's tools and
through mmdet's / mmseg's own ``tools/train.py`` and ``tools/test.py`` (shipped in the packages under
``.mim/tools``), with a user config that only inherits ours by path (our configs carry custom_imports and the hooks)."""
import importlib
import math
import re
from pathlib import Path
from typing import List, NamedTuple

import pytest

from mmghost.demo_data import make_detection_dataset, make_segmentation_dataset
from tools_helpers import ROOT, run_tool


class Task(NamedTuple):
    """One demo config and how to drive it for a short run."""
    package: str
    base_config: str
    train: List[str]  # --cfg-options of the first run
    resume: List[str]  # --cfg-options of the resumed run
    last_checkpoint: str
    resumed_at: str  # what mmengine logs when it resumes from the first run's last checkpoint
    test: List[str]
    test_output: List[str]
    metric: str  # the headline metric that test.py logs; a finite number is expected


DETECTION = Task(
    package='mmdet',
    base_config='retinanet_ghostnetv2_demo.py',
    train=['train_cfg.max_epochs=2', 'train_dataloader.batch_size=4'],
    resume=['train_cfg.max_epochs=3', 'train_dataloader.batch_size=4'],
    last_checkpoint='epoch_3.pth',
    resumed_at='resumed epoch: 2, iter: 4',
    # after a few iterations every score is below the config's 0.05: keep them all so there is a table
    test=['model.test_cfg.score_thr=0'],
    test_output=['Average Precision', 'bbox_mAP_copypaste'],
    metric='coco/bbox_mAP')
SEGMENTATION = Task(
    package='mmseg',
    base_config='deeplabv3_ghostnetv2_demo.py',
    train=['train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2'],
    resume=['train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=2'],
    last_checkpoint='iter_4.pth',
    resumed_at='resumed epoch: 0, iter: 2',
    test=[],
    test_output=['per class results', 'stripes', 'aAcc'],
    metric='mIoU')
TASKS = {'detection': DETECTION, 'segmentation': SEGMENTATION}


def make_workspace(task: Task, path: Path) -> Path:
    """Tiny generated data at the demo config's data_root, and a user config beside it."""
    if task is DETECTION:
        make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=8, num_val=4, seed=11)
    else:
        make_segmentation_dataset(str(path / 'data' / 'demo_ade' / 'ADEChallengeData2016'), num_train=4,
                                  num_val=2, seed=11)
    config = path / 'user_config.py'
    config.write_text(f"_base_ = '{ROOT / 'configs' / 'demo' / task.base_config}'\n")  # nothing else to add
    return config


def tool_scripts(tools: str, task: Task) -> List[Path]:
    """``[train.py, test.py]`` of the project, or of the installed mmdet / mmseg package."""
    if tools == 'project':
        folder = ROOT / 'tools'
    else:
        folder = Path(importlib.import_module(task.package).__file__).parent / '.mim' / 'tools'
    return [folder / 'train.py', folder / 'test.py']


@pytest.mark.parametrize('tools', ['project', 'package'])
@pytest.mark.parametrize('task_name', TASKS)
def test_train_resume_and_test(task_name, tools, tmp_path):
    task = TASKS[task_name]
    train, test = tool_scripts(tools, task)
    assert train.is_file() and test.is_file()
    config = make_workspace(task, tmp_path)
    work_dir = tmp_path / 'work_dir'

    run_tool([train, config, '--work-dir', work_dir, '--cfg-options', *task.train], tmp_path)
    first = sorted(path.name for path in work_dir.glob('*.pth'))
    assert first and task.last_checkpoint not in first

    resumed = run_tool([train, config, '--work-dir', work_dir, '--resume', '--cfg-options', *task.resume],
                       tmp_path)
    log = resumed.stdout + resumed.stderr
    assert task.resumed_at in log, log[-3000:]
    checkpoint = work_dir / task.last_checkpoint
    assert checkpoint.is_file()
    assert Path((work_dir / 'last_checkpoint').read_text().strip()) == checkpoint

    options = ['--cfg-options', *task.test] if task.test else []
    tested = run_tool([test, config, checkpoint, '--work-dir', tmp_path / 'test_dir', *options], tmp_path)
    log = tested.stdout + tested.stderr
    missing = [line for line in task.test_output if line not in log]
    assert not missing, log[-3000:]
    value = re.search(rf'{task.metric}: (\S+)', log)
    assert value and math.isfinite(float(value.group(1))), log[-3000:]
