"""Checkpoint loading that runs no code from the file.

mmengine checkpoints hold a few Python objects besides tensors: ``HistoryBuffer`` (whose pickled state
refers to its statistics methods as ``getattr(HistoryBuffer, 'mean')``), numpy arrays, scalars and dtypes.
torch >= 2.6 loads with ``weights_only=True`` by default and refuses them, which breaks mmengine 0.10.7's
resuming, ``load_from`` and testing. The fix here allow-lists exactly those objects and maps
``builtins.getattr`` to :func:`history_buffer_getattr`, which returns nothing but HistoryBuffer's statistics
methods. TorchScript archives, which carry code that ``torch.load`` would hand to ``torch.jit.load``, are
refused before any loader reads them (:func:`refuse_torchscript`). Nothing is applied at import:
:func:`checkpoint_loading` (a context) and :func:`enable_safe_checkpoint_loading` (process-wide, used by
``SafeCheckpointLoadingHook`` and the opt-in :mod:`mmghost.runtime`) are called by whoever needs them.
"""
import codecs
import inspect
import os
import os.path as osp
import pickle
import zipfile
from collections import Counter
from contextlib import contextmanager
from io import BytesIO
from typing import Any, Callable, Dict, Iterator, List, Tuple, Union
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import torch
from mmengine.fileio import get as get_bytes
from mmengine.fileio.backends import prefix_to_backends
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

from mmghost.compat import torch_weights_only_globals, uri_prefix
from .restricted_unpickler import restricted_pickle_module

# torch.load defaults to weights_only=True from 2.6 on; safe_globals with (object, name) pairs exists there
TORCH_LOADS_WEIGHTS_ONLY = digit_version(torch.__version__) >= digit_version('2.6.0')
# torch.load memory-maps zip files from 2.1 on; before, the file is read (a complete read checks it too)
TORCH_LOAD_CAN_MMAP = 'mmap' in inspect.signature(torch.load).parameters
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')  # pickled as getattr(HistoryBuffer, name)

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_getattr(obj: Any, name: str) -> Callable:
    """What ``builtins.getattr`` means while a checkpoint is unpickled: HistoryBuffer's statistics methods.

    Args:
        obj: Must be mmengine's ``HistoryBuffer`` class.
        name: One of :data:`HISTORY_BUFFER_STATISTICS`.

    Returns:
        The method (a plain function; the safe unpicklers never call it).

    Raises:
        pickle.UnpicklingError: anything else is asked for.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'a checkpoint may use getattr only for the statistics methods '
                                 f'{HISTORY_BUFFER_STATISTICS} of mmengine HistoryBuffer, not for '
                                 f'getattr({obj!r}, {name!r})')


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The objects that mmengine, mmdet and mmseg checkpoints contain besides tensors and containers.

    Returns:
        The list in ``torch.serialization.add_safe_globals``'s form: objects, and the pair
        ``(history_buffer_getattr, 'builtins.getattr')``. ``builtins.getattr`` itself is not in it.
    """
    # Float64DType, UInt32DType, ...: every numpy dtype class but object arrays'
    numpy_dtypes = [type(np.dtype(code)) for code in np.typecodes['All'] if code != 'O']
    # numpy's array and scalar reconstructors, found the way pickle finds them on numpy 1 and 2 alike
    reconstruct, scalar = np.zeros(0).__reduce__()[0], np.float64(0).__reduce__()[0]
    # What torch 2.14 allows by default and torch 2.1 does not: codecs.encode turns the latin-1 strings of
    # protocol-2 pickles back into bytes; Counter holds the milestones of multi-step schedulers.
    standard = [codecs.encode, Counter, set, bytearray, complex]
    return [HistoryBuffer, np.ndarray, np.dtype, reconstruct, scalar, *numpy_dtypes, *standard,
            (history_buffer_getattr, 'builtins.getattr')]


def _by_name(safe_globals: List[SafeGlobal]) -> Dict[str, Any]:
    """``'module.qualname'`` -> object, as torch's unpickler names allow-listed globals."""
    pairs = [item if isinstance(item, tuple) else (item, f'{item.__module__}.{item.__qualname__}')
             for item in safe_globals]
    return {name: obj for obj, name in pairs}


@contextmanager
def checkpoint_loading() -> Iterator[None]:
    """Within this context, ``torch.load`` (mmengine's loader too) accepts :func:`checkpoint_safe_globals`.

    On torch < 2.6 it does nothing: mmengine's loader works there as it is.
    """
    if not TORCH_LOADS_WEIGHTS_ONLY:
        yield
        return
    present = torch.serialization.get_safe_globals()
    with torch.serialization.safe_globals([g for g in checkpoint_safe_globals() if g not in present]):
        yield


def allow_checkpoint_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only`` allow-list for the whole process.

    Only on torch >= 2.6 (nothing to do before): other loaders than mmengine's ``CheckpointLoader`` (e.g. a
    user's ``torch.load``) then accept mmengine checkpoints too.
    """
    if TORCH_LOADS_WEIGHTS_ONLY:
        torch.serialization.add_safe_globals(checkpoint_safe_globals())


def use_safe_mmengine_loaders() -> None:
    """Make mmengine's ``CheckpointLoader`` read local and http(s) files with :func:`load_checkpoint_file`
    (the model-zoo schemes resolve to http(s) URLs), for the whole process: TorchScript archives are refused,
    and pickles build nothing outside :func:`checkpoint_safe_globals`, on every torch.
    """
    for prefixes in ('', ('http://', 'https://')):
        CheckpointLoader.register_scheme(prefixes, loader=_load_without_code, force=True)


def enable_safe_checkpoint_loading() -> None:
    """:func:`use_safe_mmengine_loaders` and :func:`allow_checkpoint_globals`: what mmengine's Runner needs to
    load and resume its checkpoints on every supported torch without running code from them."""
    use_safe_mmengine_loaders()
    allow_checkpoint_globals()


def _load_without_code(filename: str, map_location: Any = None, **kwargs: Any) -> Any:
    """A ``CheckpointLoader`` loader: :func:`load_checkpoint_file` with mmengine's loader signature."""
    return load_checkpoint_file(filename, map_location=map_location or 'cpu')


@contextmanager
def _forced_weights_only() -> Iterator[None]:
    """Make ``torch.load`` use its safe unpickler even where a caller passes ``weights_only=False``.

    torch.hub's ``load_state_dict_from_url`` (mmengine's http(s), ``open-mmlab://`` and ``torchvision://``
    loading) does; ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` is torch's documented switch that overrides it.
    """
    names = ('TORCH_FORCE_WEIGHTS_ONLY_LOAD', 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ[names[0]] = '1'
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def is_torchscript_archive(file: Any) -> bool:
    """Whether ``file`` (a path or a binary file object) is a TorchScript archive: a zip one of whose records
    (the names below the archive's top folder, as torch reads them) is ``constants.pkl`` or lies in
    ``code/``. torch's own check (``constants.pkl``) is what makes ``torch.load`` call ``torch.jit.load``.

    Args:
        file: The checkpoint file. A file object is read from the start and rewound.
    """
    if not zipfile.is_zipfile(file):
        return False
    if hasattr(file, 'seek'):
        file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            records = [name.split('/', 1)[-1] for name in archive.namelist()]
    except zipfile.BadZipFile:
        return False  # torch's reader refuses it; not a TorchScript archive it would run
    finally:
        if hasattr(file, 'seek'):
            file.seek(0)
    return any(record == 'constants.pkl' or record.startswith('code/') for record in records)


def refuse_torchscript(file: Any, name: str) -> None:
    """Raise ``ValueError`` if ``file`` is a TorchScript archive (:func:`is_torchscript_archive`).

    Args:
        file: A path or a binary file object.
        name: How the error names the file.
    """
    if is_torchscript_archive(file):
        raise ValueError(f'refusing to load {name!r}: it is a TorchScript archive (a zip with constants.pkl or '
                         f'code/), which carries code that torch runs when loading; mmghost does not load '
                         f'TorchScript. Save a state dict instead (torch.save(model.state_dict(), path))')


def _load_torch_file(file: Any, map_location: str, mmap: bool, name: str) -> Any:
    """``torch.load`` with the safe unpickler and the checkpoint allow-list, on any torch version, after
    :func:`refuse_torchscript`."""
    refuse_torchscript(file, name)
    mmap_arg = dict(mmap=mmap) if TORCH_LOAD_CAN_MMAP else {}
    if TORCH_LOADS_WEIGHTS_ONLY:
        with checkpoint_loading():
            return torch.load(file, map_location=map_location, weights_only=True, **mmap_arg)
    allowed = {**torch_weights_only_globals(), **_by_name(checkpoint_safe_globals())}
    return torch.load(file, map_location=map_location, weights_only=False, **mmap_arg,
                      pickle_module=restricted_pickle_module(allowed))


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
    if url.endswith('.safetensors'):
        from safetensors.torch import load
        return _read_safetensors(url, lambda: load(get_bytes(url)))
    if url.startswith(('http://', 'https://')):  # downloaded once into torch.hub's cache, as mmengine does
        path = _hub_cached_file(url)
        return _load_torch_file(path, map_location, mmap=False, name=url)
    if uri_prefix(url) in prefix_to_backends:  # another file backend (s3, ...): fetch the bytes, load here
        return _load_torch_file(BytesIO(get_bytes(url)), map_location, mmap=False, name=url)
    # a model-zoo name (open-mmlab://, torchvision://): mmengine resolves it and loads it as mmdet does
    if TORCH_LOADS_WEIGHTS_ONLY:
        with checkpoint_loading(), _forced_weights_only():
            return CheckpointLoader.load_checkpoint(url, map_location=map_location)
    return CheckpointLoader.load_checkpoint(url, map_location=map_location)


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

    Accepted: local paths and ``file://`` URLs; every scheme mmengine's ``CheckpointLoader`` knows
    (``http(s)://``, ``s3://``, ``open-mmlab://``, ``torchvision://``, ...); torch's zip and legacy formats;
    ``.safetensors`` files. Pickled globals must be in :func:`checkpoint_safe_globals` (or torch's own
    allow-list of tensor types).

    Args:
        filename: Path or URL.
        map_location: Device to map tensors to. Defaults to ``'cpu'``.
        mmap: Memory-map the tensors of a local zip-format file instead of reading them (a cheap
            completeness check). Defaults to False.

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: the local file does not exist.
        ValueError: the file holds objects outside the allow-list, or is not a readable checkpoint.
    """
    try:
        return _load(filename, map_location, mmap)
    except pickle.UnpicklingError as error:
        raise ValueError(f'refusing to load {filename!r}: it holds objects outside the checkpoint '
                         f'allow-list (mmghost.utils.checkpoint.checkpoint_safe_globals). {error}') from None
    except RuntimeError as error:
        raise ValueError(f'{filename!r} is not a readable torch checkpoint: {error}') from None
