"""A ``pickle_module`` for ``torch.load`` that builds nothing but allow-listed globals.

torch < 2.6 has no way to extend its ``weights_only`` allow-list, and its default unpickler runs any
pickle. Python's documented way to restrict unpickling is a ``find_class`` that only returns allowed
objects: every callable that unpickling can call (``REDUCE``, ``NEWOBJ``, ``BUILD``) comes from there or is
made by one that did.
"""
import _compat_pickle
import pickle
import types
from typing import Any, Mapping


def restricted_pickle_module(allowed: Mapping[str, Any]) -> types.ModuleType:
    """A module with ``Unpickler`` and ``load`` (what ``torch.load(pickle_module=...)`` uses).

    Args:
        allowed: ``'module.qualname'`` -> the object a pickled global of that name becomes.

    Returns:
        The module. Its unpickler raises ``pickle.UnpicklingError`` naming any other global.
    """

    class Unpickler(pickle.Unpickler):

        def find_class(self, module: str, name: str) -> Any:
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))  # protocol 2
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            if f'{module}.{name}' not in allowed:
                raise pickle.UnpicklingError(f'global {module}.{name} is not in the checkpoint allow-list')
            return allowed[f'{module}.{name}']

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    module = types.ModuleType('mmghost_restricted_pickle')
    module.Unpickler, module.load = Unpickler, load
    return module
