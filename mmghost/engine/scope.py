"""The ``mmghost`` scope of mmengine's registries: the hooks and optim wrappers that configs name.

Configs name them with the scope, ``dict(type='mmghost.FiniteLossHook')``, which works in an mmdet or mmseg
config with nothing but ``custom_imports = dict(imports=['mmghost'])``: mmengine's ``Registry.get`` finds
the ``mmghost`` child registry once this module has run, and before that resolves the key as the attribute
``mmghost.FiniteLossHook`` (``mmghost.__getattr__``), which imports the engine and so creates the scope.
``import mmghost`` alone creates nothing here.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry

HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmghost', locations=['mmghost.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmghost',
                          locations=['mmghost.engine'])
