"""Utilities: typing aliases, atomic file writes, and checkpoint loading that runs no code from the file."""
from .atomic_write import atomic_write
from .checkpoint import (allow_checkpoint_globals, checkpoint_loading, checkpoint_safe_globals,
                         enable_safe_checkpoint_loading, is_torchscript_archive, load_checkpoint_file)

__all__ = [
    'allow_checkpoint_globals', 'atomic_write', 'checkpoint_loading', 'checkpoint_safe_globals',
    'enable_safe_checkpoint_loading', 'is_torchscript_archive', 'load_checkpoint_file'
]
