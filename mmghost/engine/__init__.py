"""What the train and test tools share: config loading, machine-dependent runtime setup, hooks.

Importing it creates the ``mmghost`` scope of hooks and optim wrappers (:mod:`.registry`).
"""
from .atomic_io import AtomicCheckpointHook, AtomicLocalBackend, atomic_write
from .builder import build_model
from .config import check_override_key, load_config
from .data_check import check_dataset_paths
from .hooks import FiniteLossHook, FuseConvBNHook, RankConsistencyHook, parameter_digest
from .optim import CPUAutocastOptimWrapper
from .randomness import ResumableRandomnessHook, get_rng_states, set_rng_states
from .resume import latest_loadable_checkpoint, resume_candidates
from .runtime import replace_sync_bn, setup_runtime, shutdown_runtime

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CPUAutocastOptimWrapper', 'FiniteLossHook', 'FuseConvBNHook',
    'RankConsistencyHook', 'ResumableRandomnessHook', 'atomic_write', 'build_model', 'check_dataset_paths',
    'check_override_key', 'get_rng_states', 'latest_loadable_checkpoint', 'load_config', 'parameter_digest',
    'replace_sync_bn', 'resume_candidates', 'set_rng_states', 'setup_runtime', 'shutdown_runtime'
]
