"""Checkpoint loading without executing arbitrary pickles.

torch >= 2.6 loads with ``weights_only=True``, which refuses the few Python objects that mmengine
checkpoints hold (``HistoryBuffer`` in the message hub, numpy arrays and scalars). Instead of switching
the safety off, the globals those checkpoints legitimately contain are allow-listed.
"""
import os
import os.path as osp
import pickle
from typing import Any, List
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def checkpoint_safe_globals() -> List[Any]:
    """The globals that mmengine, mmdet and mmseg checkpoints contain besides tensors and containers.

    ``getattr`` is there because a pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; the safe unpickler still calls nothing outside this list, so
    attributes it fetches cannot be called.
    """
    # Float64DType, UInt32DType, ...: every numpy dtype but object arrays
    numpy_dtypes = [type(np.dtype(code)) for code in np.typecodes['All'] if code != 'O']
    return [HistoryBuffer, getattr, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
            np.core.multiarray.scalar, *numpy_dtypes]


def allow_checkpoint_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only`` allow-list, process-wide.

    mmengine's own loader (``--resume``, ``load_from``) then reads its checkpoints with the safe unpickler.
    """
    torch.serialization.add_safe_globals(checkpoint_safe_globals())


def load_checkpoint_file(filename: str, map_location: str = 'cpu', mmap: bool = False) -> Any:
    """Load a checkpoint from a local path or an http(s)/file URL with ``weights_only=True``.

    URLs are downloaded once into torch hub's ``checkpoints`` directory (where mmengine keeps them).

    Args:
        filename: Path or URL.
        map_location: Where to map tensors. Defaults to ``'cpu'``.
        mmap: Memory-map the tensors instead of reading them (a cheap completeness check).
            Defaults to False.

    Returns:
        The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: the local file does not exist.
        ValueError: the file holds objects outside the allow-list, or is not a torch checkpoint.
    """
    scheme = urlparse(filename).scheme
    if scheme in ('http', 'https', 'file'):
        path = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(filename).path))
        if not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            torch.hub.download_url_to_file(filename, path)  # writes a temp file, then renames
    else:
        path = filename
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    allow_checkpoint_globals()  # process-wide: a safe_globals context would drop them again on exit
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        raise ValueError(f'refusing to load {filename!r}: it holds objects outside the checkpoint '
                         f'allow-list (mmghost.utils.checkpoint.checkpoint_safe_globals). {error}') from None
    except RuntimeError as error:
        raise ValueError(f'{filename!r} is not a readable torch checkpoint: {error}') from None
