"""Network files for every backend: the network only (normalised float images (1, 3, H, W) in, raw head
outputs or decode-head logits out), with the metadata that ``mmghost_runtime`` decodes them with.

ncnn, MNN and LiteRT run no ONNX NMS, so their detector and segmentor files are network files; ONNX files
for onnxruntime and OpenVINO can be too.
"""
import json
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

from .graph_rewrites import REWRITTEN_BACKENDS, rewrite_for_onnxruntime
from .litert_export import export_litert
from .metadata import model_metadata
from .mnn_export import export_mnn
from .ncnn_export import NCNN_INPUT, export_ncnn
from .network_metadata import network_metadata
from .onnx_export import INPUT_NAME, TensorOutputs, export_onnx
from .openvino_export import export_openvino

SUFFIXES = dict(onnxruntime='.onnx', openvino='.xml', ncnn='.ncnn.param', mnn='.mnn', litert='.tflite')
METADATA_IN_FILE = ('onnxruntime', 'openvino')  # the others keep it in FILE.json beside the file


def backend_path(onnx_path: str, backend: str) -> str:
    """The file that ``backend`` runs, named after the ``.onnx`` path: ``.xml``, ``.ncnn.param`` and so on."""
    if backend not in SUFFIXES:
        raise ValueError(f'backend must be one of {tuple(SUFFIXES)}, got {backend!r}')
    return osp.splitext(onnx_path)[0] + SUFFIXES[backend]


def second_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """Another input size, of another aspect ratio and never smaller, for tracing (ncnn) and checking files that
    take any size."""
    return shape[0] + 32, shape[1] + 64


def export_network(model: nn.Module, cfg: Optional[Config], backend: str, onnx_path: str,
                   shape: Sequence[int] = (224, 224), dynamic: bool = True, rewrite: bool = True) -> str:
    """Write the network file of ``model`` for ``backend`` and its metadata; return the file's path.

    Args:
        model: A detector or segmentor (with ``cfg``) or a backbone (``cfg`` None: no metadata), eval mode.
        cfg: The model's config.
        backend: ``onnxruntime``, ``openvino`` (the ONNX file and its IR), ``ncnn`` (by pnnx, any size),
            ``mnn`` (from the ONNX file, any size) or ``litert`` (by litert-torch, fixed to ``shape``).
        onnx_path: The ``.onnx`` file; the other backends' files are named after it (:func:`backend_path`).
        shape: Height and width of the example input (>= 64).
        dynamic: onnxruntime and OpenVINO: False fixes the input to one image of ``shape``.
        rewrite: For the backends in :data:`REWRITTEN_BACKENDS`, export the network after
            :func:`rewrite_for_onnxruntime` (exact). Defaults to True.
    """
    path = backend_path(onnx_path, backend)
    if not dynamic and backend not in METADATA_IN_FILE:
        raise ValueError(f'dynamic=False is for onnxruntime and openvino; {backend} files '
                         f'{"are fixed to the example size" if backend == "litert" else "take any size"}')
    example = torch.randn(1, 3, *shape)
    if rewrite and backend in REWRITTEN_BACKENDS:
        model = rewrite_for_onnxruntime(model, static=not dynamic)
    metadata = None
    if backend == 'ncnn':
        names = export_ncnn(model, example, torch.randn(1, 3, *second_shape(shape)), path)
        input_name = NCNN_INPUT
    elif backend == 'litert':
        names = [f'output_{i}' for i in range(export_litert(model, example, path))]
        input_name = 'args_0'
    else:
        with torch.no_grad():
            names = [f'output{i}' for i in range(len(TensorOutputs(model)(example)))]
        input_name = INPUT_NAME
    if cfg is not None:
        metadata = model_metadata(cfg, model, network_metadata(model, input_name, names))
    if backend in ('onnxruntime', 'openvino', 'mnn'):
        export_onnx(model, example, onnx_path, dynamic=dynamic, metadata=metadata if backend in METADATA_IN_FILE
                    else None)
        if backend == 'mnn':
            export_mnn(onnx_path, path)
        elif backend == 'openvino':
            export_openvino(onnx_path, path)
    if metadata is not None and backend not in METADATA_IN_FILE:
        with open(f'{path}.json', 'w') as f:  # mmghost_runtime.metadata.sidecar_path
            json.dump(metadata, f, sort_keys=True)
    return path
