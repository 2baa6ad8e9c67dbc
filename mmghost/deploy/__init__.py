"""Deployment: BN-folded inference models and ONNX export."""
from .fuse import fuse_model, prepare_for_cpu_inference
from .onnx_export import TensorOutputs, export_onnx

__all__ = ['TensorOutputs', 'export_onnx', 'fuse_model', 'prepare_for_cpu_inference']
