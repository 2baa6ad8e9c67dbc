"""Models: the GhostNetV2 backbone and its layers."""
from .backbones import GhostNetV2

__all__ = ['GhostNetV2']
