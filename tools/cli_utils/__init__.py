"""What mmghost's command-line tools share: config loading with ``--cfg-options`` checks, ``--amp`` and
``--tta``, dataset path checks, the checkpoint ``--resume`` picks, and launch set-up for CPU-only machines.

The tools in ``tools/`` import it as ``cli_utils`` (``tools/`` is on ``sys.path`` when they run).
"""
from .amp_and_tta import enable_amp, enable_tta
from .config import check_override_key, load_config
from .dataset_paths import annotation_errors_named, check_dataset_paths
from .launch import setup_runtime, shutdown_runtime
from .resume import latest_loadable_checkpoint, resume_candidates

__all__ = [
    'annotation_errors_named', 'check_dataset_paths', 'check_override_key', 'enable_amp', 'enable_tta',
    'latest_loadable_checkpoint', 'load_config', 'resume_candidates', 'setup_runtime', 'shutdown_runtime'
]
