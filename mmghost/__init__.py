"""GhostNetV2 for OpenMMLab dense prediction.

Importing the package registers ``GhostNetV2`` into the model registry of mmdet and/or mmseg, whichever is
installed, and changes nothing else: not torch's ``weights_only`` allow-list, not mmengine's file backends,
not mmengine's root registries. Safe checkpoint loading for mmengine's Runner is opt-in: the
``mmghost.SafeCheckpointLoadingHook`` that mmghost's configs name, or :mod:`mmghost.runtime` for a whole
process.
"""
from typing import Any

from .models import GhostNetV2
from .version import __version__

__all__ = ['GhostNetV2', '__version__']

# The hooks and optim wrappers of the mmghost scope (mmghost.engine.scope), reachable as mmghost.NAME
ENGINE_TYPES = ('AtomicCheckpointHook', 'CPUAutocastOptimWrapper', 'FiniteLossHook', 'FuseConvBNHook',
                'RankConsistencyHook', 'ResumableRandomnessHook', 'SafeCheckpointLoadingHook')


def __getattr__(name: str) -> Any:
    """``mmghost.FiniteLossHook`` and the other :data:`ENGINE_TYPES`, imported on first use.

    mmengine resolves a config's ``type='mmghost.NAME'`` through this attribute until :mod:`mmghost.engine`
    is imported (which this does) and the ``mmghost`` scope exists.
    """
    if name not in ENGINE_TYPES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    from . import engine
    return getattr(engine, name)
