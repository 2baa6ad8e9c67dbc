"""Bad data and checkpoints stop the tools with an error that names the problem (see docs/errors.md)."""
import json
import shutil

import pytest

from mmghost.demo_data import make_detection_dataset
from tools_helpers import ROOT, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
TRAIN, TEST = ROOT / 'tools' / 'train.py', ROOT / 'tools' / 'test.py'


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp('bad') / 'template'
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=8, num_val=4, seed=11)
    return path


@pytest.fixture
def workspace(dataset, tmp_path):
    shutil.copytree(dataset, tmp_path / 'ws')
    return tmp_path / 'ws'


def fails(args, cwd):
    result = run_tool(args, cwd, check=False)
    assert result.returncode != 0, result.stdout[-2000:]
    return result.stderr


def test_missing_dataset_root_is_named_with_the_fix(tmp_path):
    stderr = fails([TRAIN, CONFIG], tmp_path)
    assert "train annotation file 'data/demo_coco/annotations/instances_train.json' does not exist" in stderr
    assert 'docs/datasets.md' in stderr and 'make_demo_data.py' in stderr


def test_missing_ade20k_root_is_named(tmp_path):
    stderr = fails([TEST, ROOT / 'configs' / 'deeplabv3_ghostnetv2_ade20k.py', ROOT / 'README.md'], tmp_path)
    assert 'README.md' in stderr  # the checkpoint is checked first: not a torch checkpoint
    stderr = fails([TRAIN, ROOT / 'configs' / 'deeplabv3_ghostnetv2_ade20k.py'], tmp_path)
    assert "'data/ade/ADEChallengeData2016/images/training' does not exist" in stderr


def test_annotation_file_that_is_not_a_json_object_is_named(workspace):
    (workspace / 'data/demo_coco/annotations/instances_train.json').write_text(
        'version https://git-lfs.github.com/spec/v1\noid sha256:0\n')  # a Git LFS pointer, never fetched
    stderr = fails([TRAIN, CONFIG], workspace)
    assert ("train annotation file 'data/demo_coco/annotations/instances_train.json' is not a JSON object: it "
            "starts with b'version https://git-lfs") in stderr


def test_invalid_json_annotation_is_named(workspace):
    """Malformed JSON further on is found by mmdet's loader; the error names the file."""
    (workspace / 'data/demo_coco/annotations/instances_train.json').write_text('{"images": [')
    stderr = fails([TRAIN, CONFIG], workspace)
    assert ("annotation file 'data/demo_coco/annotations/instances_train.json' could not be loaded by CocoDataset "
            "(JSONDecodeError: Expecting value: line 1 column 13 (char 12))") in stderr


def test_non_coco_json_annotation_is_named(workspace):
    (workspace / 'data/demo_coco/annotations/instances_val.json').write_text(json.dumps({'images': []}))
    stderr = fails([TRAIN, CONFIG], workspace)
    assert ("annotation file 'data/demo_coco/annotations/instances_val.json' could not be loaded by CocoDataset "
            "(KeyError: 'categories')") in stderr


def test_undecodable_image_stops_training_naming_the_file(workspace):
    (workspace / 'data/demo_coco/train/000003.jpg').write_bytes(b'not a jpeg at all')
    stderr = fails([TRAIN, CONFIG, '--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0'],
                   workspace)
    assert 'failed to load image' in stderr and '000003.jpg' in stderr


def test_truncated_checkpoint_given_to_test_is_named(workspace):
    (workspace / 'broken.pth').write_bytes(b'PK\x03\x04 truncated')
    stderr = fails([TEST, CONFIG, 'broken.pth'], workspace)
    assert "'broken.pth' is not a readable torch checkpoint" in stderr


def test_cpu_only_launcher_check(workspace):
    stderr = fails([TRAIN, CONFIG, '--launcher', 'slurm'], workspace)
    assert "launcher 'slurm' needs GPUs" in stderr
