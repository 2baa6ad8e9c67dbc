"""Registries: mmghost's own scope, plus registration into mmdet's and mmseg's.

``import mmghost`` makes the backbone available three ways:

* ``type='GhostNetV2'`` inside any mmdet or mmseg config (registered into both registries);
* ``type='mmghost.GhostNetV2'`` from any scope (mmghost's registry is a child of mmengine's root);
* ``mmghost.registry.MODELS.build(...)`` directly.
"""
from typing import Type

from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from mmseg.registry import MODELS as SEG_MODELS

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmghost', locations=['mmghost.models'])


def register_model(cls: Type) -> Type:
    """Register ``cls`` in the mmghost, mmdet and mmseg model registries.

    Args:
        cls: The module class to register under its own name.

    Returns:
        The class itself, so this works as a decorator.
    """
    for registry in (MODELS, DET_MODELS, SEG_MODELS):
        registry.register_module(module=cls)
    return cls
