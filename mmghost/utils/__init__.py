"""Utilities: atomic file writes, and checkpoint loading that runs no code from the file."""
from .atomic_write import atomic_write
from .checkpoint import enable_safe_checkpoint_loading, load_checkpoint_file
from .checkpoint_archive import is_torchscript_archive
from .checkpoint_globals import checkpoint_safe_globals

__all__ = [
    'atomic_write', 'checkpoint_safe_globals', 'enable_safe_checkpoint_loading', 'is_torchscript_archive',
    'load_checkpoint_file'
]
