"""Building a config's model outside the Runner (analysis, export, benchmarks, tests).

A config is named by its file path or, as in a ``_base_`` line, as ``mmdet::PATH`` / ``mmseg::PATH`` (a
config shipped inside the installed package, e.g. a peer model to compare with).
"""
import copy
import importlib.util
import os.path as osp
from typing import Any, Mapping, Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from mmghost.registry import DOWNSTREAM_PACKAGES

def resolve_config(path: str) -> str:
    """The file of a config: ``path`` itself, or for ``mmdet::PATH`` / ``mmseg::PATH`` the file of the
    installed package that ``_base_ = 'mmdet::PATH'`` inherits.

    Args:
        path: A config file path or a package config name.

    Returns:
        The config file path (whether it exists is checked by whoever reads it).

    Raises:
        ValueError: the package before ``::`` is neither mmdet nor mmseg, or is not installed.

    Example:
        >>> resolve_config('mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py')
        '.../site-packages/mmdet/.mim/configs/yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
    """
    scope, separator, relative = path.partition('::')
    if not separator:
        return path
    if scope not in DOWNSTREAM_PACKAGES:
        raise ValueError(f'config {path!r}: the package before "::" must be one of {DOWNSTREAM_PACKAGES}, '
                         f'got {scope!r}')
    spec = importlib.util.find_spec(scope)
    if spec is None or spec.origin is None:
        raise ValueError(f'config {path!r}: {scope} is not installed')
    return osp.join(osp.dirname(spec.origin), '.mim', 'configs', relative)


def replace_sync_bn(node: Any) -> int:
    """Turn every ``type='SyncBN'`` in a config tree into ``'BN'``; return how many were changed.

    SyncBN needs CUDA; in one process, and at inference, BN computes the same.

    Args:
        node: A config dict, list or value; changed in place.
    """
    changed = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            changed += 1
        children = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return 0
    return changed + sum(replace_sync_bn(child) for child in children)


def build_model(cfg: Union[str, Config],
                pretrained: bool = False,
                overrides: Optional[Mapping[str, Any]] = None) -> nn.Module:
    """Build ``cfg.model`` in the config's scope, weights initialised, in eval mode.

    SyncBN becomes BN (identical at inference and in one process; SyncBN needs CUDA).

    Args:
        cfg: The config (not modified), or a config name for :func:`resolve_config`.
        pretrained: Load the backbone's ``init_cfg`` checkpoint; otherwise (the default) the backbone is
            randomly initialised, so nothing is downloaded.
        overrides: ``{'dotted.key': value}`` merged into ``cfg.model`` first, e.g.
            ``{'neck.in_channels': [32, 96, 1280]}``; a dict value with ``_delete_=True`` replaces the
            entry instead of updating it. Defaults to None.

    Returns:
        The model.

    Raises:
        TypeError: ``cfg`` is neither a Config nor a path.
        FileNotFoundError: the config file does not exist.

    Example:
        >>> model = build_model('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', overrides={'backbone.with_cp': True})
    """
    if isinstance(cfg, str):
        path = resolve_config(cfg)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file {cfg!r} does not exist')
        cfg = Config.fromfile(path)
    elif not isinstance(cfg, Config):
        raise TypeError(f'cfg must be an mmengine Config or a config file path, got {type(cfg).__name__}')
    wrapper = Config(dict(model=copy.deepcopy(cfg.model)))
    # mmengine's merge pops ``_delete_`` from (and writes into) the values it is given: merge copies
    wrapper.merge_from_dict({f'model.{key}': copy.deepcopy(value) for key, value in (overrides or {}).items()})
    model_cfg = wrapper.model
    if not pretrained:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
        model_cfg.pop('pretrained', None)
    replace_sync_bn(model_cfg)
    init_default_scope(cfg.get('default_scope', DOWNSTREAM_PACKAGES[0]))
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.eval()
