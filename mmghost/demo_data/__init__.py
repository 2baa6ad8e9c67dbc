"""Generators of the small, deterministic demo datasets (COCO detection, ADE20K-layout segmentation)."""
from .detection import make_detection_dataset
from .segmentation import CLASSES as SEGMENTATION_CLASSES
from .segmentation import make_segmentation_dataset
from .textures import SHAPES as DETECTION_CLASSES

__all__ = ['DETECTION_CLASSES', 'SEGMENTATION_CLASSES', 'make_detection_dataset', 'make_segmentation_dataset']
