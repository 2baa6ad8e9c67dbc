"""Registration of the backbone into mmdet's and mmseg's model registries, whichever are installed.

``import mmghost`` registers ``GhostNetV2`` into ``mmdet.registry.MODELS`` and/or
``mmseg.registry.MODELS`` and touches no other registry: ``type='GhostNetV2'`` works in any mmdet or mmseg
config, and ``type='mmghost.GhostNetV2'`` from any scope (mmengine resolves it as the attribute
``mmghost.GhostNetV2``). The hooks and optim wrappers live in the ``mmghost`` scope, which
:mod:`mmghost.engine.scope` creates when the engine is first used.
"""
from importlib import import_module
from typing import List, Type

from mmengine.registry import Registry

DOWNSTREAM_PACKAGES = ('mmdet', 'mmseg')  # the OpenMMLab packages whose model registry takes the backbone


def _installed_model_registries() -> List[Registry]:
    """The ``MODELS`` registries of the installed packages of :data:`DOWNSTREAM_PACKAGES`.

    Raises:
        ImportError: neither mmdet nor mmseg can be imported.
    """
    registries = []
    for package in DOWNSTREAM_PACKAGES:
        try:
            registries.append(import_module(f'{package}.registry').MODELS)
        except ModuleNotFoundError as error:
            if error.name not in (package, f'{package}.registry'):
                raise  # installed but broken: its own error says why
    if not registries:
        raise ImportError('mmghost needs mmdet (pip install "mmghost[mmdet]") or mmsegmentation '
                          '(pip install "mmghost[mmseg]"); neither can be imported')
    return registries


MODEL_REGISTRIES = _installed_model_registries()


def register_model(cls: Type) -> Type:
    """Register ``cls`` under its own name in the model registry of mmdet and/or mmseg.

    Args:
        cls: The module class to register.

    Returns:
        The class itself, so this works as a decorator.
    """
    for registry in MODEL_REGISTRIES:
        registry.register_module(module=cls)
    return cls
