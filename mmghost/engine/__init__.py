"""What mmghost adds to mmengine's training engine: the hooks and the optim wrapper that configs name.

Importing it creates the ``mmghost`` scope (:mod:`.scope`); ``import mmghost`` does not import it.
"""
from .hooks import (AtomicCheckpointHook, AtomicLocalBackend, FiniteLossHook, FuseConvBNHook, RankConsistencyHook,
                    ResumableRandomnessHook, SafeCheckpointLoadingHook, get_rng_states, parameter_digest,
                    set_rng_states)
from .optimizers import CPUAutocastOptimWrapper

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CPUAutocastOptimWrapper', 'FiniteLossHook', 'FuseConvBNHook',
    'RankConsistencyHook', 'ResumableRandomnessHook', 'SafeCheckpointLoadingHook', 'get_rng_states',
    'parameter_digest', 'set_rng_states'
]
