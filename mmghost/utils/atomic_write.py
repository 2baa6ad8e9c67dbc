"""Writing a file atomically: a reader sees either the old or the new complete file, never a part."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union


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
