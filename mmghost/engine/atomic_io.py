"""Atomic local writes for everything mmengine saves (checkpoints, ``last_checkpoint``, logs' JSON).

mmengine's ``LocalBackend`` opens the target file and writes into it: a process killed mid-write leaves a
truncated checkpoint, and ``last_checkpoint`` may point at it. :class:`AtomicLocalBackend` writes to a
temporary file in the same directory, flushes it to disk, then renames it over the target, so a reader
sees either the old or the new complete file.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write(filepath: Union[str, Path], data: bytes) -> None:
    """Write ``data`` to ``filepath`` through a temporary file and ``os.replace``."""
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))


def use_atomic_local_writes() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (process-wide)."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
