"""Deployment: BN-folded inference models, ONNX export (raw outputs, or end to end with NMS) and OpenVINO IR."""
from .end_to_end import EndToEndDetector, EndToEndSegmentor, ImagePreprocess, end_to_end
from .fuse import fuse_model, prepare_for_cpu_inference
from .metadata import METADATA_KEY, deploy_metadata
from .onnx_export import INPUT_NAME, TensorOutputs, export_end_to_end, export_onnx
from .openvino_export import export_openvino

__all__ = [
    'EndToEndDetector', 'EndToEndSegmentor', 'INPUT_NAME', 'ImagePreprocess', 'METADATA_KEY', 'TensorOutputs',
    'deploy_metadata', 'end_to_end', 'export_end_to_end', 'export_onnx', 'export_openvino', 'fuse_model',
    'prepare_for_cpu_inference'
]
