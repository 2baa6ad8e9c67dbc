"""The private APIs of torch and mmengine that mmghost relies on, each behind feature detection.

Every use of a private name lives here, so a torch or mmengine release that moves one breaks this file only,
and the fallback keeps the behaviour (``tests/test_compat_module.py`` checks, on the installed versions, the
private API against the fallback, and runs in both the main and the compat suite).
"""
import collections
import os
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn


def _private(module: str, name: str) -> Optional[Callable]:
    """``module.name`` if the installed version has it, else None."""
    try:
        return getattr(__import__(module, fromlist=[name]), name, None)
    except ImportError:
        return None


def own_uri_prefix(uri: str) -> Optional[str]:
    """mmengine's rule, without mmengine: the prefix before ``://``, less a ``cluster:`` part."""
    if '://' not in uri:
        return None
    return uri.split('://', 1)[0].split(':')[-1]


def uri_prefix(uri: str) -> Optional[str]:
    """The file-backend prefix of ``uri`` as mmengine's ``get_file_backend`` reads it (``'s3'`` for
    ``'s3://bucket/x'`` and ``'cluster:s3://bucket/x'``), or None for a local path.

    Args:
        uri: A path or URI.
    """
    parse = _private('mmengine.fileio.io', '_parse_uri_prefix')
    if parse is None:
        return own_uri_prefix(uri)
    return parse(uri) or None


def own_tensor_globals() -> Dict[str, Any]:
    """What a state dict needs, without torch's private list: ``OrderedDict``, torch's tensor and parameter
    rebuilders, and torch's dtypes and storage classes."""
    import torch._utils as tensor_utils
    allowed: Dict[str, Any] = {'collections.OrderedDict': collections.OrderedDict}
    for name in ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_qtensor',
                 '_rebuild_sparse_tensor'):
        if hasattr(tensor_utils, name):
            allowed[f'torch._utils.{name}'] = getattr(tensor_utils, name)
    for name in dir(torch):
        obj = getattr(torch, name)
        if isinstance(obj, torch.dtype) or (isinstance(obj, type) and name.endswith('Storage')):
            allowed[f'torch.{name}'] = obj
    return allowed


def torch_weights_only_globals() -> Dict[str, Any]:
    """The globals that torch's own ``weights_only`` unpickler accepts (tensor rebuilders, storages,
    ``OrderedDict``, ...), as ``'module.qualname'`` -> object.

    Returns:
        ``torch._weights_only_unpickler._get_allowed_globals()`` where it exists (torch 1.13 and later),
        else :func:`own_tensor_globals`.
    """
    allowed = _private('torch._weights_only_unpickler', '_get_allowed_globals')
    return own_tensor_globals() if allowed is None else dict(allowed())


def own_format_size(count: int) -> str:
    """mmengine's table format, without mmengine: 3 decimals, trailing zeros dropped, unit above 100 of the
    next smaller one."""
    for unit, scale in (('P', 1e15), ('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(count) > scale / 10:
            return f'{count / scale:.3f}'.rstrip('0').rstrip('.') + unit
    return str(count)


def format_size(count: int) -> str:
    """``count`` as mmengine's complexity tables write it (``'6.157M'``, ``'0.167G'``).

    Args:
        count: A parameter or operation count.
    """
    formatter = _private('mmengine.analysis.print_helper', '_format_size')
    return own_format_size(count) if formatter is None else formatter(count)


def own_mmengine_home() -> str:
    """mmengine's rule, without mmengine's private function: ``$MMENGINE_HOME``, else ``mmengine`` in
    ``$XDG_CACHE_HOME`` (``~/.cache``)."""
    default = os.path.join(os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')
    return os.path.expanduser(os.getenv('MMENGINE_HOME', default))


def mmengine_home() -> str:
    """The folder where mmengine keeps model-zoo files that its tables name by a relative path."""
    home = _private('mmengine.runner.checkpoint', '_get_mmengine_home')
    return own_mmengine_home() if home is None else home()


def own_mmcls_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """mmengine's rule, without its private function: the ``backbone.`` weights of an ``mmcls://``
    checkpoint, without the prefix, as ``dict(state_dict=...)``."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    return dict(state_dict=collections.OrderedDict(
        (name[len('backbone.'):], value) for name, value in state_dict.items() if name.startswith('backbone.')))


def mmcls_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """What mmengine makes of a checkpoint loaded by an ``mmcls://`` name: its backbone's weights.

    Args:
        checkpoint: The loaded file.
    """
    process = _private('mmengine.runner.checkpoint', '_process_mmcls_checkpoint')
    return own_mmcls_checkpoint(checkpoint) if process is None else process(checkpoint)


def mark_initialized(module: nn.Module) -> None:
    """Record on an mmengine ``BaseModule`` that its weights are initialised (``init_weights`` then leaves it
    alone), through the ``is_init`` setter where mmengine has one, else its ``_is_init`` flag.

    Args:
        module: The ``BaseModule``.
    """
    prop = getattr(type(module), 'is_init', None)
    if isinstance(prop, property) and prop.fset is not None:
        module.is_init = True
    else:
        module._is_init = True
