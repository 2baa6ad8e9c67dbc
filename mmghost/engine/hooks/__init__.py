"""Hooks of the ``mmghost`` scope (``type='mmghost.NAME'``), one file each."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .finite_loss_hook import FiniteLossHook
from .fuse_conv_bn_hook import FuseConvBNHook
from .rank_consistency_hook import RankConsistencyHook, parameter_digest
from .resumable_randomness_hook import ResumableRandomnessHook, get_rng_states, set_rng_states
from .safe_checkpoint_loading_hook import SafeCheckpointLoadingHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'FiniteLossHook', 'FuseConvBNHook', 'RankConsistencyHook',
    'ResumableRandomnessHook', 'SafeCheckpointLoadingHook', 'get_rng_states', 'parameter_digest',
    'set_rng_states'
]
