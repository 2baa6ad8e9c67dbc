"""Building a config's model outside the Runner (analysis, export, benchmarks, tests)."""
import copy
from typing import Any, Mapping, Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from .config import load_config
from .runtime import replace_sync_bn


def build_model(cfg: Union[str, Config],
                pretrained: bool = False,
                overrides: Optional[Mapping[str, Any]] = None) -> nn.Module:
    """Build ``cfg.model`` in the config's scope, weights initialised, in eval mode.

    SyncBN becomes BN (identical at inference and in one process; SyncBN needs CUDA).

    Args:
        cfg: The config (not modified), or the path of a config file.
        pretrained: Load the backbone's ``init_cfg`` checkpoint; otherwise (the default) the backbone is
            randomly initialised, so nothing is downloaded.
        overrides: ``{'dotted.key': value}`` merged into ``cfg.model`` first, e.g.
            ``{'neck.in_channels': [32, 96, 1280]}``; a dict value with ``_delete_=True`` replaces the
            entry instead of updating it. Defaults to None.

    Returns:
        The model.

    Example:
        >>> model = build_model('configs/retinanet_ghostnetv2_coco.py', overrides={'backbone.with_cp': True})
    """
    if isinstance(cfg, str):
        cfg = load_config(cfg)
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
    init_default_scope(cfg.default_scope)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.eval()
