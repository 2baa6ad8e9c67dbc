"""Complexity analysis."""
from .complexity import DFC_OP_HANDLES, conv_linear_macs, flop_analyzer

__all__ = ['DFC_OP_HANDLES', 'conv_linear_macs', 'flop_analyzer']
