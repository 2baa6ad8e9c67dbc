"""What a checkpoint's pickle may build: mmengine's, mmdet's and mmseg's objects besides tensors.

mmengine checkpoints hold a few Python objects besides tensors: ``HistoryBuffer`` (whose pickled state
refers to its statistics methods as ``getattr(HistoryBuffer, 'mean')``), numpy arrays, scalars and dtypes.
:func:`checkpoint_safe_globals` allow-lists exactly those objects and maps ``builtins.getattr`` to
:func:`history_buffer_getattr`, which returns nothing but HistoryBuffer's statistics methods;
:func:`checkpoint_pickle_module` is the restricted unpickler built from them.
"""
import codecs
import types
from collections import Counter, OrderedDict
from typing import Any, Callable, Dict

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mmghost.compat import torch_weights_only_globals
from .numpy_pickle_guard import NumpyPickleGuard
from .restricted_unpickler import RefusedByAllowList, restricted_pickle_module

HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')  # pickled as getattr(HistoryBuffer, name)

def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """What ``builtins.getattr`` means while a checkpoint is unpickled: HistoryBuffer's statistics methods.

    Args:
        obj: Must be mmengine's ``HistoryBuffer`` class.
        name: One of :data:`HISTORY_BUFFER_STATISTICS`.

    Returns:
        The method (a plain function; the safe unpicklers never call it).

    Raises:
        pickle.UnpicklingError: anything else is asked for (a :class:`RefusedByAllowList`).
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise RefusedByAllowList(f'a checkpoint may use getattr only for the statistics methods '
                             f'{HISTORY_BUFFER_STATISTICS} of mmengine HistoryBuffer, not for '
                             f'getattr({obj!r}, {name!r})')


def checkpoint_safe_globals() -> Dict[str, Any]:
    """The objects that mmengine, mmdet and mmseg checkpoints contain besides tensors and containers.

    Returns:
        ``'module.qualname'`` (as a pickle names a global) -> the object it becomes. ``builtins.getattr``
        becomes :func:`history_buffer_getattr`; Python's ``getattr`` itself is not in it.
    """
    # Float64DType, UInt32DType, ...: every numpy dtype class but object arrays'
    numpy_dtypes = [type(np.dtype(code)) for code in np.typecodes['All'] if code != 'O']
    # numpy's array and scalar reconstructors, found the way pickle finds them on numpy 1 and 2 alike
    reconstruct, scalar = np.zeros(0).__reduce__()[0], np.float64(0).__reduce__()[0]
    # What torch 2.14 allows by default and torch 2.1 does not: codecs.encode turns the latin-1 strings of
    # protocol-2 pickles back into bytes; Counter holds the milestones of multi-step schedulers.
    standard = [codecs.encode, Counter, set, bytearray, complex]
    objects = [HistoryBuffer, np.ndarray, np.dtype, reconstruct, scalar, *numpy_dtypes, *standard]
    return {**{f'{obj.__module__}.{obj.__qualname__}': obj for obj in objects},
            'builtins.getattr': history_buffer_getattr}


def checkpoint_pickle_module() -> types.ModuleType:
    """The ``pickle_module`` that ``load_checkpoint_file`` gives ``torch.load``, made for one load.

    Globals: torch's own ``weights_only`` allow-list (:func:`mmghost.compat.torch_weights_only_globals`) and
    :func:`checkpoint_safe_globals`, with numpy's constructors replaced by :class:`NumpyPickleGuard`'s. Calls:
    the functions among them and the classes that pickles construct (``HistoryBuffer``, ``Counter``,
    ``OrderedDict``, ``set``, ``bytearray``, ``complex``, ``torch.Size``, ``torch.device``,
    ``torch.nn.Parameter``); never a tensor, storage, array or dtype class. ``BUILD``: instances of the
    allowed classes, numpy's checked by :class:`NumpyPickleGuard`.
    """
    guard = NumpyPickleGuard()
    allowed = {**torch_weights_only_globals(), **checkpoint_safe_globals(), **guard.constructors}
    constructible = (HistoryBuffer, Counter, OrderedDict, set, bytearray, complex, torch.Size, torch.device,
                     torch.nn.Parameter)
    calls = [obj for obj in allowed.values()
             if not isinstance(obj, type) or any(obj is cls for cls in constructible)]
    module = restricted_pickle_module(allowed, calls=calls, check_build=guard.check_build)
    module.guard = guard  # kept with the module: the ids it tracks stay its objects'
    return module
