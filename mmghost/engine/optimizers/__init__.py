"""Optim wrappers of the ``mmghost`` scope."""
from .cpu_autocast_optim_wrapper import CPUAutocastOptimWrapper
from .tiny_conv_precision import full_precision_tiny_convs

__all__ = ['CPUAutocastOptimWrapper', 'full_precision_tiny_convs']
