"""Deployment: BN-folded inference models, exact graph rewrites for onnxruntime, ONNX export (raw outputs, or
end to end with NMS), OpenVINO IR, and the network files of ncnn, MNN and LiteRT (decoding and NMS in
``mmghost_runtime``)."""
from .end_to_end import EndToEndDetector, EndToEndSegmentor, ImagePreprocess, end_to_end
from .fuse import fuse_model, prepare_for_cpu_inference
from .graph_rewrites import REWRITTEN_BACKENDS, rewrite_for_onnxruntime
from .litert_export import export_litert
from .metadata import METADATA_KEY, deploy_metadata, model_metadata
from .mnn_export import export_mnn
from .ncnn_export import NCNN_INPUT, export_ncnn
from .network_export import backend_path, export_network, second_shape
from .network_metadata import network_metadata
from .onnx_export import INPUT_NAME, TensorOutputs, export_end_to_end, export_onnx
from .openvino_export import export_openvino

__all__ = [
    'EndToEndDetector', 'EndToEndSegmentor', 'INPUT_NAME', 'ImagePreprocess', 'METADATA_KEY', 'NCNN_INPUT',
    'REWRITTEN_BACKENDS',
    'TensorOutputs', 'backend_path', 'deploy_metadata', 'end_to_end', 'export_end_to_end', 'export_litert',
    'export_mnn', 'export_ncnn', 'export_network', 'export_onnx', 'export_openvino', 'fuse_model', 'model_metadata',
    'network_metadata', 'prepare_for_cpu_inference', 'rewrite_for_onnxruntime', 'second_shape'
]
