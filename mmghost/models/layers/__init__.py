"""Building blocks of GhostNetV2."""
from .conv_norm_act import ConvNormAct
from .dfc_attention import DFCAttention
from .ghost_bottleneck import GhostBottleneck
from .ghost_module import GhostModule
from .squeeze_excite import SqueezeExcite

__all__ = ['ConvNormAct', 'DFCAttention', 'GhostBottleneck', 'GhostModule', 'SqueezeExcite']
