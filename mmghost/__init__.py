"""GhostNetV2 for OpenMMLab dense prediction.

Importing the package registers ``GhostNetV2`` in the mmghost, mmdet and mmseg model registries and
allow-lists the globals of mmengine checkpoints for torch's safe (``weights_only``) loading.
"""
from .models import GhostNetV2
from .utils import allow_checkpoint_globals
from .version import __version__

allow_checkpoint_globals()

__all__ = ['GhostNetV2', '__version__']
