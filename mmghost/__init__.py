"""GhostNetV2 for OpenMMLab dense prediction.

Importing the package registers ``GhostNetV2`` in the mmghost, mmdet and mmseg model registries and
mmghost's hooks in mmengine's, allow-lists the globals of mmengine checkpoints for torch's safe
(``weights_only``) loading, and makes mmengine's local file writes (checkpoints, ``last_checkpoint``)
atomic.
"""
from .engine import use_atomic_local_writes
from .models import GhostNetV2
from .utils import allow_checkpoint_globals
from .version import __version__

allow_checkpoint_globals()
use_atomic_local_writes()

__all__ = ['GhostNetV2', '__version__']
