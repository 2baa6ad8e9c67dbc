"""Backbones."""
from .ghostnetv2 import GhostNetV2

__all__ = ['GhostNetV2']
