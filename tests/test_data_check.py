"""check_dataset_paths: cheap existence and readability checks, no parsing of annotation files."""
import builtins
import json
import re

import pytest
from mmengine.config import Config

from cli_utils import check_dataset_paths

ANN = 'annotations/instances_train.json'


def detection_config(root) -> Config:
    dataset = dict(type='CocoDataset', data_root=f'{root}/', ann_file=ANN, data_prefix=dict(img='train/'))
    return Config(dict(train_dataloader=dict(dataset=dataset)))


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'train').mkdir()
    return tmp_path


def test_annotation_file_is_not_parsed(root):
    """A file that starts like a JSON object passes whatever follows: the format is the loader's business."""
    (root / ANN).write_bytes(b'{"images": [' + b'\x00garbage' * 200_000)
    check_dataset_paths(detection_config(root), ('train', ))


def test_openmmlab_2_annotation_file_is_accepted(root):
    (root / ANN).write_text(json.dumps(dict(metainfo=dict(classes=['a']), data_list=[])))
    check_dataset_paths(detection_config(root), ('train', ))


@pytest.mark.parametrize('content, message', [
    (b'', 'is empty'),
    (b' \n', 'is empty'),
    (b'version https://git-lfs.github.com/spec/v1\n', "is not a JSON object: it starts with b'version https://git-lfs"),
    (b'[{"id": 1}]', "is not a JSON object: it starts with b'[{"),
])
def test_annotation_file_that_cannot_be_json_annotations_is_named(root, content, message):
    (root / ANN).write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"train annotation file '{root}/{ANN}' {message}")):
        check_dataset_paths(detection_config(root), ('train', ))


def test_a_directory_where_a_file_belongs_and_the_reverse(root):
    (root / ANN).mkdir()
    with pytest.raises(ValueError, match='annotation file .* is a directory, expected a file'):
        check_dataset_paths(detection_config(root), ('train', ))
    (root / ANN).rmdir()
    (root / ANN).write_text('{}')
    (root / 'train').rmdir()
    (root / 'train').write_text('')
    with pytest.raises(ValueError, match="train img directory '.*train/' is a file, expected a directory"):
        check_dataset_paths(detection_config(root), ('train', ))


def test_unreadable_annotation_file_is_named(root, monkeypatch):
    (root / ANN).write_text('{}')
    real_open = builtins.open

    def refusing_open(path, *args, **kwargs):  # what open() raises without read permission (not as root)
        if str(path).endswith(ANN):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', refusing_open)
    with pytest.raises(PermissionError, match=f"train annotation file '.*{ANN}' cannot be read: Permission denied"):
        check_dataset_paths(detection_config(root), ('train', ))
