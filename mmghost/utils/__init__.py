"""Utilities: typing aliases and safe checkpoint loading."""
from .checkpoint import allow_checkpoint_globals, checkpoint_safe_globals, load_checkpoint_file

__all__ = ['allow_checkpoint_globals', 'checkpoint_safe_globals', 'load_checkpoint_file']
