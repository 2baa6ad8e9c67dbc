"""Building a config's model outside the Runner (analysis, export, benchmarks, tests)."""
import copy

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from .runtime import replace_sync_bn


def build_model(cfg: Config, pretrained: bool = False) -> nn.Module:
    """Build ``cfg.model`` in the config's scope, weights initialised, in eval mode.

    SyncBN becomes BN (identical at inference and in one process; SyncBN needs CUDA).

    Args:
        cfg: The config (not modified).
        pretrained: Load the backbone's ``init_cfg`` checkpoint; otherwise (the default) the backbone is
            randomly initialised, so nothing is downloaded.

    Returns:
        The model.
    """
    init_default_scope(cfg.default_scope)
    model_cfg = copy.deepcopy(cfg.model)
    if not pretrained:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
        model_cfg.pop('pretrained', None)
    replace_sync_bn(model_cfg)
    model = MODELS.build(model_cfg)
    model.init_weights()
    return model.eval()
