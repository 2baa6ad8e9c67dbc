"""What the train and test tools share: config loading and machine-dependent runtime setup."""
from .config import check_override_key, load_config
from .runtime import replace_sync_bn, setup_runtime

__all__ = ['check_override_key', 'load_config', 'replace_sync_bn', 'setup_runtime']
