"""Checking that a config's dataset paths exist and can be read, cheaply, before any work starts.

Nothing here parses an annotation file (COCO's train2017 file is ~450 MB and every rank runs this): a file
is opened and its first bytes read, a directory listed. The format is the dataset loader's business;
:func:`annotation_errors_named` names the file when the loader fails.
"""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, List, Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.dataset import BaseDataset

DATASET_DOCS = 'docs/datasets.md'
HEAD_BYTES = 4096  # read of each annotation file: enough to see how it starts


def _datasets(node: Mapping) -> Iterator[Mapping]:
    """The innermost dataset configs (through RepeatDataset/ConcatDataset wrappers)."""
    if 'dataset' in node:
        yield from _datasets(node['dataset'])
    elif 'datasets' in node:
        for child in node['datasets']:
            yield from _datasets(child)
    else:
        yield node


def dataset_paths(cfg: Config, splits: Tuple[str, ...]) -> List[Tuple[str, str]]:
    """``(description, path)`` of every annotation file and image/label directory the splits read."""
    paths = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for dataset in _datasets(loader['dataset']):
            root = dataset.get('data_root') or ''
            if dataset.get('ann_file'):
                paths.append((f'{split} annotation file', osp.join(root, dataset['ann_file'])))
            for kind, prefix in (dataset.get('data_prefix') or {}).items():
                paths.append((f'{split} {kind} directory', osp.join(root, prefix)))
        evaluator = cfg.get(f'{split}_evaluator')
        for metric in evaluator if isinstance(evaluator, list) else [evaluator]:
            if isinstance(metric, Mapping) and metric.get('ann_file'):
                paths.append((f'{split} evaluator annotation file', metric['ann_file']))
    return paths


def check_dataset_paths(cfg: Config, splits: Tuple[str, ...]) -> None:
    """Raise naming the first dataset path of ``splits`` that is missing or unreadable, and the fix.

    Args:
        cfg: The config.
        splits: Which of ``'train'``, ``'val'``, ``'test'`` will be read.

    Raises:
        FileNotFoundError: a path does not exist.
        PermissionError: a file cannot be read or a directory cannot be listed.
        ValueError: an annotation file is a directory, an image directory a file, or a ``.json``
            annotation file is empty or does not start like a JSON object (``{``).
    """
    checked = set()
    for what, path in dataset_paths(cfg, splits):
        # the val split and its evaluator (and the test split) usually read the same annotation file
        if '://' in path or osp.normpath(path) in checked:
            continue
        checked.add(osp.normpath(path))
        if not osp.exists(osp.normpath(path)):  # normpath: 'train2017/' of a file is a wrong kind, not missing
            raise FileNotFoundError(
                f'{what} {path!r} does not exist (relative to {osp.abspath(".")}). Put the dataset there '
                f'as described in {DATASET_DOCS}, or point the config at it, e.g. --cfg-options '
                f'{splits[0]}_dataloader.dataset.data_root=/path/to/data/; the demo datasets are made by '
                f'tools/misc/make_demo_data.py')
        if what.endswith('directory'):
            check_directory(what, path)
        else:
            check_file_head(what, path)


def check_directory(what: str, path: str) -> None:
    """Raise unless ``path`` is a directory that can be listed."""
    if not osp.isdir(path):
        raise ValueError(f'{what} {path!r} is a file, expected a directory')
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except PermissionError as error:
        raise PermissionError(f'{what} {path!r} cannot be listed: {error.strerror}') from None


def check_file_head(what: str, path: str) -> None:
    """Raise unless ``path`` is a file whose first bytes can be read; a ``.json`` file must start with ``{``.

    COCO files and OpenMMLab 2.0 annotation files (``metainfo``/``data_list``) are JSON objects; whether the
    rest is well-formed is checked by the dataset when it loads the file.
    """
    if osp.isdir(path):
        raise ValueError(f'{what} {path!r} is a directory, expected a file')
    try:
        with open(path, 'rb') as f:
            head = f.read(HEAD_BYTES)
    except PermissionError as error:
        raise PermissionError(f'{what} {path!r} cannot be read: {error.strerror}') from None
    if not path.endswith('.json'):
        return
    start = head.lstrip(b'\xef\xbb\xbf \t\r\n')
    if not start:
        raise ValueError(f'{what} {path!r} is empty; expected a JSON annotation file (see {DATASET_DOCS})')
    if not start.startswith(b'{'):
        raise ValueError(f'{what} {path!r} is not a JSON object: it starts with {start[:40]!r}; expected COCO '
                         f'or OpenMMLab 2.0 annotations (see {DATASET_DOCS})')


def _loading_dataset(error: BaseException) -> Optional[BaseDataset]:
    """The dataset whose ``load_data_list`` the error was raised in, if any."""
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code.co_name == 'load_data_list' and isinstance(frame.f_locals.get('self'), BaseDataset):
            return frame.f_locals['self']
        traceback = traceback.tb_next
    return None


@contextmanager
def annotation_errors_named() -> Iterator[None]:
    """Re-raise an error of a dataset's ``load_data_list`` (a malformed annotation file) as ``ValueError``
    naming the file and the dataset class; the loader's own error is chained. Other errors pass unchanged.
    """
    try:
        yield
    except Exception as error:
        dataset = _loading_dataset(error)
        if dataset is None:
            raise
        raise ValueError(f'annotation file {dataset.ann_file!r} could not be loaded by {type(dataset).__name__} '
                         f'({type(error).__name__}: {error}); check that it is in the format that dataset reads '
                         f'(see {DATASET_DOCS})') from error
