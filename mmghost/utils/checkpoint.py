"""Checkpoint loading that runs no code from the file, on every supported torch.

:func:`load_checkpoint_file` refuses TorchScript, tar and ambiguous zip archives before any loader reads them
(:mod:`mmghost.utils.checkpoint_archive`), then unpickles with mmghost's restricted unpickler
(:func:`mmghost.utils.checkpoint_globals.checkpoint_pickle_module`) on every torch: not with torch's
``weights_only`` unpickler, which hands a pickled state to numpy's ``dtype.__setstate__`` as it is (arrays
that read and write outside their memory; :mod:`mmghost.utils.numpy_pickle_guard`), and not with torch's
default one, which runs any pickle on torch < 2.6. Model-zoo names are resolved with mmengine's tables and
their files loaded the same way.

Nothing is applied at import: :func:`enable_safe_checkpoint_loading` (process-wide, used by
``SafeCheckpointLoadingHook`` and the opt-in :mod:`mmghost.runtime`) routes mmengine's ``CheckpointLoader``
through :func:`load_checkpoint_file`.
"""
import inspect
import os
import os.path as osp
import pickle
import struct
import tarfile
import zipfile
from contextlib import contextmanager
from io import BytesIO
from typing import Any, Callable, Iterator
from urllib.parse import urlparse
from urllib.request import url2pathname

import torch
from mmengine.fileio import get as get_bytes
from mmengine.fileio.backends import prefix_to_backends
from mmengine.runner.checkpoint import CheckpointLoader

from mmghost.compat import mmcls_checkpoint, uri_prefix
from .checkpoint_archive import refuse_unsafe_archive
from .checkpoint_globals import checkpoint_pickle_module
from .model_zoo import MODEL_ZOO_TABLES, model_zoo_scheme, resolve_model_zoo_name
from .restricted_unpickler import RefusedByAllowList

# torch.load memory-maps zip files from 2.1 on; before, the file is read (a complete read checks it too)
TORCH_LOAD_CAN_MMAP = 'mmap' in inspect.signature(torch.load).parameters
# torch's documented switches; TORCH_FORCE_WEIGHTS_ONLY_LOAD would make torch refuse a pickle_module
WEIGHTS_ONLY_SWITCHES = ('TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
# the schemes of mmengine's CheckpointLoader that mmghost's loader takes over (regular expressions, as
# mmengine matches them): local files, http(s), file backends (s3, petrel) and the model zoos
MMENGINE_SCHEMES = ('', 'http://', 'https://', r'(\S+\:)?s3://', r'(\S+\:)?petrel://', *MODEL_ZOO_TABLES)
# What torch's loaders and Python's unpickler raise for a file that is not a well-formed checkpoint (torch's
# zip reader: RuntimeError, or OSError for some truncated files; refusals are RefusedByAllowList)
MALFORMED_FILE_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
                         AttributeError, AssertionError, OverflowError, struct.error, zipfile.BadZipFile,
                         tarfile.TarError, RuntimeError, OSError)


def enable_safe_checkpoint_loading() -> None:
    """Make mmengine's ``CheckpointLoader`` read local files, http(s) URLs, file backends and model-zoo names
    with :func:`load_checkpoint_file`, for the whole process: what mmengine's Runner (and so mmdet's and
    mmseg's tools) needs to load and resume its checkpoints on every supported torch without running code
    from them. Other schemes (e.g. ``pavi://``) keep mmengine's loader."""
    for prefix in MMENGINE_SCHEMES:
        CheckpointLoader.register_scheme(prefix, loader=_load_for_mmengine, force=True)


def _load_for_mmengine(filename: str, map_location: Any = None, **kwargs: Any) -> Any:
    """A ``CheckpointLoader`` loader: :func:`load_checkpoint_file` with mmengine's loader signature."""
    return load_checkpoint_file(filename, map_location=map_location or 'cpu')


@contextmanager
def _weights_only_switches_unset() -> Iterator[None]:
    """Within the context, torch's ``weights_only`` environment switches are unset: this unpickler is
    stricter than the one they force."""
    saved = {name: os.environ.pop(name, None) for name in WEIGHTS_ONLY_SWITCHES}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value


def _load_torch_file(file: Any, map_location: str, mmap: bool, name: str) -> Any:
    """``torch.load`` with mmghost's restricted unpickler on any torch, after :func:`refuse_unsafe_archive`.

    torch validates the sparse tensors it rebuilds (``check_sparse_tensor_invariants``), as its
    ``weights_only`` loading does.
    """
    refuse_unsafe_archive(file, name)
    mmap_arg = dict(mmap=mmap) if TORCH_LOAD_CAN_MMAP else {}
    try:
        with _weights_only_switches_unset(), torch.sparse.check_sparse_tensor_invariants(True):
            return torch.load(file, map_location=map_location, weights_only=False, **mmap_arg,
                              pickle_module=checkpoint_pickle_module())
    except RefusedByAllowList:
        raise
    except MALFORMED_FILE_ERRORS as error:
        raise ValueError(f'{name!r} is not a readable torch checkpoint: {type(error).__name__}: {error}') from None


def _read_safetensors(name: str, read: Callable[[], Any]) -> Any:
    """``read()``, with safetensors' own error for a malformed file (header length, JSON, offsets) raised as
    ``ValueError`` naming the file."""
    from safetensors import SafetensorError
    try:
        return read()
    except SafetensorError as error:
        raise ValueError(f'{name!r} is not a readable .safetensors file: {error}') from None


def _hub_cached_file(url: str) -> str:
    """The local copy of ``url`` in torch.hub's checkpoint cache (where mmengine's http loading keeps it),
    downloaded first if absent (torch writes a temporary file and renames it)."""
    from torch.hub import download_url_to_file, get_dir
    path = osp.join(get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
    if not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        download_url_to_file(url, path, progress=False)
    return path


def _load_remote(url: str, map_location: str) -> Any:
    if model_zoo_scheme(url):  # resolved with mmengine's tables, loaded here
        location, is_mmcls = resolve_model_zoo_name(url)
        checkpoint = _load(location, map_location, mmap=False)
        return mmcls_checkpoint(checkpoint) if is_mmcls else checkpoint
    if url.endswith('.safetensors'):
        from safetensors.torch import load
        return _read_safetensors(url, lambda: load(get_bytes(url)))
    if url.startswith(('http://', 'https://')):  # downloaded once into torch.hub's cache, as mmengine does
        return _load_torch_file(_hub_cached_file(url), map_location, mmap=False, name=url)
    if uri_prefix(url) in prefix_to_backends:  # another file backend (s3, ...): fetch the bytes, load here
        return _load_torch_file(BytesIO(get_bytes(url)), map_location, mmap=False, name=url)
    raise ValueError(f'cannot load {url!r}: mmghost loads local paths, file:// and http(s):// URLs, the '
                     f'file backends {sorted(prefix_to_backends)} and the model-zoo schemes '
                     f'{sorted(MODEL_ZOO_TABLES)}')


def _load(filename: str, map_location: str, mmap: bool) -> Any:
    if filename.startswith('file://'):
        filename = url2pathname(urlparse(filename).path)
    if '://' in filename:
        return _load_remote(filename, map_location)
    filename = osp.expanduser(filename)  # as mmengine's local loader, which this one replaces
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    if filename.endswith('.safetensors'):  # a format without code: timm's hub weights
        from safetensors.torch import load_file
        return _read_safetensors(filename, lambda: load_file(filename, device=map_location))
    # mmap needs torch's zip format; legacy (non-zip) files are read whole
    return _load_torch_file(filename, map_location, mmap and zipfile.is_zipfile(filename), name=filename)


def load_checkpoint_file(filename: str, map_location: str = 'cpu', mmap: bool = False) -> Any:
    """Load a checkpoint without running code from it.

    Accepted: local paths and ``file://`` URLs; ``http(s)://`` URLs (kept in torch hub's cache, as mmengine
    keeps them); mmengine's file backends (``s3://``, ...); the model-zoo names of mmengine's tables
    (``open-mmlab://``, ``torchvision://``, ``mmcls://``); torch's zip and legacy formats; ``.safetensors``
    files. Pickled globals must be in :func:`mmghost.utils.checkpoint_globals.checkpoint_safe_globals` or
    torch's own allow-list of tensor types.

    Args:
        filename: Path or URL.
        map_location: Device to map tensors to. Defaults to ``'cpu'``.
        mmap: Memory-map the tensors of a local zip-format file instead of reading them (a cheap
            completeness check). Defaults to False.

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: the local file does not exist.
        ValueError: the file holds objects outside the allow-list, is a TorchScript or tar archive, is not a
            readable checkpoint (truncated, malformed, a storage missing), or its name has a scheme mmghost
            does not load; the message names the file.
    """
    try:
        return _load(filename, map_location, mmap)
    except pickle.UnpicklingError as error:
        raise ValueError(f'refusing to load {filename!r}: it holds objects outside the checkpoint '
                         f'allow-list (mmghost.utils.checkpoint_safe_globals). {error}') from None
    except RuntimeError as error:
        raise ValueError(f'{filename!r} is not a readable torch checkpoint: {error}') from None
