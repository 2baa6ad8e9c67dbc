"""Utilities: typing aliases and checkpoint loading that runs no code from the file."""
from .checkpoint import allow_checkpoint_globals, checkpoint_loading, checkpoint_safe_globals, load_checkpoint_file

__all__ = ['allow_checkpoint_globals', 'checkpoint_loading', 'checkpoint_safe_globals', 'load_checkpoint_file']
