"""Building a config's model outside mmengine's Runner."""
from .builder import build_model, replace_sync_bn, resolve_config

__all__ = ['build_model', 'replace_sync_bn', 'resolve_config']
