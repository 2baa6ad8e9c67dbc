"""Atomic checkpoint files.

mmengine's ``LocalBackend`` opens the target file and writes into it: a process killed mid-write leaves a
truncated checkpoint. :func:`atomic_write` writes a temporary file in the target's directory and renames it
over the target, so a reader sees either the old or the new complete file. :class:`AtomicCheckpointHook`
(``type='mmghost.AtomicCheckpointHook'`` in ``default_hooks.checkpoint``) saves checkpoints that way; nothing
else is changed: mmengine's ``'local'`` backend stays as it is, and ``last_checkpoint`` and the logs are
written by mmengine with ``open()``.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend, backends, register_backend
from mmengine.hooks import CheckpointHook

from mmghost.utils.atomic_write import atomic_write
from ..scope import HOOKS

ATOMIC_BACKEND = 'mmghost_atomic_local'  # the name AtomicCheckpointHook registers its backend under


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
