"""Checkpoint containers that are refused before any loader reads them: TorchScript archives, tar archives
and zips that list a record twice.

``torch.load`` hands a TorchScript zip to ``torch.jit.load``, which runs the archive's code (torch < 2.6
even with a ``pickle_module``); a tar is torch's format before 0.4; zip readers differ on which of two
records of the same name counts.
"""
import mmap
import os
import struct
import tarfile
import zipfile
from collections import Counter
from contextlib import contextmanager
from io import BytesIO
from typing import Any, Iterator, List

# torch.load tells its zip format from the legacy one by these first 4 bytes (a zip's first local header)
TORCH_ZIP_MAGIC = b'PK\x03\x04'
# zip headers that carry a record name: signature, offset of the 2-byte name length, offset of the name
ZIP_NAME_HEADERS = ((b'PK\x01\x02', 28, 46), (b'PK\x03\x04', 26, 30))  # central directory, local


def _is_torchscript_record(name: bytes) -> bool:
    """A record name that makes torch treat a zip as TorchScript (``constants.pkl`` below the top folder),
    or that holds TorchScript code (``code/``). Cut at a NUL byte as torch's reader (C strings) cuts it, and
    by prefix: torch's reader also truncates long names."""
    record = name.split(b'\0', 1)[0].split(b'/', 1)[-1]
    return record.startswith(b'constants.pkl') or record.startswith(b'code/')


def _names_in_any_zip_header(data: Any) -> Iterator[bytes]:
    """The record names of every zip header found anywhere in ``data`` (bytes or mmap).

    Python's ``zipfile`` and torch's reader (miniz) do not always settle on the same central directory:
    they look for its end record over different spans of the file's tail, and only Python's corrects the
    directory's offset for bytes before the archive. Whichever directory a reader uses is made of these
    headers, so the names found here include every name any reader lists.
    """
    for signature, length_at, name_at in ZIP_NAME_HEADERS:
        position = data.find(signature)
        while position >= 0:
            if position + name_at <= len(data):
                (length, ) = struct.unpack('<H', data[position + length_at:position + length_at + 2])
                yield bytes(data[position + name_at:position + name_at + length])
            position = data.find(signature, position + 1)


@contextmanager
def _file_bytes(file: Any) -> Iterator[Any]:
    """The content of ``file`` (a path, memory-mapped, or a binary file object, read and rewound)."""
    if hasattr(file, 'read'):
        file.seek(0)
        try:
            yield file.read()
        finally:
            file.seek(0)
        return
    with open(file, 'rb') as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            yield b''
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def is_torchscript_archive(file: Any) -> bool:
    """Whether ``file`` is a TorchScript archive: a zip one of whose records (the names below the archive's
    top folder, as torch reads them) is ``constants.pkl`` or lies in ``code/``. torch's own check
    (``constants.pkl``) is what makes ``torch.load`` call ``torch.jit.load``.

    Every zip header in the file counts, not only the directory that Python's ``zipfile`` reads: torch's
    reader may read another one (:func:`_names_in_any_zip_header`).

    Args:
        file: A path or a binary file object (read from the start and rewound).
    """
    with _file_bytes(file) as data:
        if data[:len(TORCH_ZIP_MAGIC)] != TORCH_ZIP_MAGIC and not zipfile.is_zipfile(BytesIO(data[-(1 << 17):])):
            return False  # torch.load reads it as a legacy pickle, never with torch.jit.load
        return any(_is_torchscript_record(name) for name in _names_in_any_zip_header(data))


def _duplicate_records(file: Any) -> List[str]:
    """The record names that a zip's directory (as Python's ``zipfile`` reads it) lists more than once."""
    if hasattr(file, 'seek'):
        file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            return sorted(name for name, count in Counter(archive.namelist()).items() if count > 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []  # not a zip to Python: torch's reader refuses it, or reads it alone
    finally:
        if hasattr(file, 'seek'):
            file.seek(0)


def _is_tar_archive(file: Any) -> bool:
    """Whether torch would read ``file`` as its tar format (torch < 0.4): it tries ``tarfile`` first."""
    handle = file if hasattr(file, 'read') else open(file, 'rb')
    try:
        handle.seek(0)
        with tarfile.open(fileobj=handle, mode='r:'):
            return True
    except tarfile.TarError:
        return False
    finally:
        if handle is file:
            file.seek(0)
        else:
            handle.close()


def refuse_unsafe_archive(file: Any, name: str) -> None:
    """Raise ``ValueError`` if ``file`` is a TorchScript archive, a tar archive, or a zip that lists a record
    twice (torch 2.0's reader takes the first, later ones the last).

    Args:
        file: A path or a binary file object (rewound after).
        name: How the error names the file.
    """
    if is_torchscript_archive(file):
        raise ValueError(f'refusing to load {name!r}: it is a TorchScript archive (a zip with constants.pkl or '
                         f'code/), which carries code that torch runs when loading; mmghost does not load '
                         f'TorchScript. Save a state dict instead (torch.save(model.state_dict(), path))')
    duplicates = _duplicate_records(file)
    if duplicates:
        raise ValueError(f'refusing to load {name!r}: its zip lists records more than once ({duplicates[:3]}), '
                         f'and zip readers differ on which one counts; torch.save never writes such a file')
    if _is_tar_archive(file):
        raise ValueError(f'refusing to load {name!r}: it is a tar archive (torch\'s checkpoint format before '
                         f'0.4, which torch >= 2.6 does not read with weights_only either); re-save it with a '
                         f'recent torch')
