"""Atomic checkpoint files.

mmengine's ``LocalBackend`` opens the target file and writes into it: a process killed mid-write leaves a
truncated checkpoint. :func:`atomic_write` writes a temporary file in the target's directory and renames it
over the target, so a reader sees either the old or the new complete file. :class:`AtomicCheckpointHook`
(``type='mmghost.AtomicCheckpointHook'`` in ``default_hooks.checkpoint``) saves checkpoints that way; nothing
else is changed: mmengine's ``'local'`` backend stays as it is, and ``last_checkpoint`` and the logs are
written by mmengine with ``open()``.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend, backends, register_backend
from mmengine.hooks import CheckpointHook

from .registry import HOOKS

ATOMIC_BACKEND = 'mmghost_atomic_local'  # the name AtomicCheckpointHook registers its backend under


def _new_file_mode(path: str) -> int:
    """The mode ``open(path, 'w')`` would leave: the existing file's, or 0o666 less the umask."""
    if osp.exists(path):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(filepath: Union[str, Path], data: bytes, fsync: bool = True) -> None:
    """Replace ``filepath`` by ``data`` at once, through a temporary file and ``os.replace``.

    A symlink is written through (its target is replaced, the link stays); the file mode is what
    ``open()`` would give (the existing file's, else ``0o666`` less the umask).

    Args:
        filepath: The file to write.
        data: Its new content.
        fsync: Flush the data and the rename to disk before returning (what a checkpoint needs to survive
            a power loss). Defaults to True.
    """
    target = osp.realpath(filepath)
    directory = osp.dirname(target)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(target)}.', suffix='.tmp')
    try:
        os.fchmod(fd, _new_file_mode(target))  # mkstemp creates 0600
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    if fsync:
        _fsync_directory(directory)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put`` (checkpoints) and ``put_text`` are atomic.

    ``put`` is fsynced, ``put_text`` is not.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding), fsync=False)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` that writes its local checkpoint files atomically.

    ``epoch_*.pth``/``iter_*.pth`` and ``best_*.pth`` are written through :class:`AtomicLocalBackend`
    (registered in mmengine's backend table as ``'mmghost_atomic_local'`` when training starts) unless
    ``backend_args`` or ``file_client_args`` choose a backend, or ``out_dir`` is not local. Arguments are
    ``CheckpointHook``'s.
    """

    def before_train(self, runner) -> None:
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        if (self.backend_args is None and self.file_client_args is None
                and type(get_file_backend(out_dir)) is LocalBackend):
            if ATOMIC_BACKEND not in backends:
                register_backend(ATOMIC_BACKEND, AtomicLocalBackend)
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
