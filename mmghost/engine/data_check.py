"""Checking that a config's dataset paths exist before any work starts."""
import json
import os.path as osp
from typing import Iterator, List, Mapping, Tuple

from mmengine.config import Config

DATASET_DOCS = 'docs/datasets.md'


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
    """Raise ``FileNotFoundError`` naming the first missing dataset path of ``splits`` and the fix.

    Args:
        cfg: The config.
        splits: Which of ``'train'``, ``'val'``, ``'test'`` will be read.
    """
    checked = set()
    for what, path in dataset_paths(cfg, splits):
        # the val split and its evaluator (and the test split) usually read the same annotation file
        if '://' in path or osp.normpath(path) in checked:
            continue
        checked.add(osp.normpath(path))
        if osp.exists(path) and path.endswith('.json') and 'annotation' in what:
            check_coco_json(path)
        if not osp.exists(path):
            raise FileNotFoundError(
                f'{what} {path!r} does not exist (relative to {osp.abspath(".")}). Put the dataset there '
                f'as described in {DATASET_DOCS}, or point the config at it, e.g. --cfg-options '
                f'{splits[0]}_dataloader.dataset.data_root=/path/to/data/; the demo datasets are made by '
                f'tools/misc/make_demo_data.py')


def check_coco_json(path: str) -> None:
    """Raise ``ValueError`` unless ``path`` is JSON with COCO's ``images``/``annotations``/``categories``."""
    try:
        with open(path) as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f'annotation file {path!r} is not valid JSON: {error}') from None
    missing = [k for k in ('images', 'annotations', 'categories')
               if not isinstance(content, dict) or not isinstance(content.get(k), list)]
    if missing:
        raise ValueError(f'annotation file {path!r} is not COCO-format: it lacks the lists {missing} '
                         f'(see {DATASET_DOCS})')
