"""ONNX export of raw outputs or of the end-to-end model, with dynamic batch, height and width or with the
example's shape fixed (``dynamic=False``: onnxruntime then folds the shape arithmetic of every resize)."""
import inspect
import json
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from .end_to_end import EndToEndDetector, end_to_end
from .metadata import METADATA_KEY

INPUT_NAME = 'images'  # the input of every exported graph


class TensorOutputs(nn.Module):
    """Wrap a backbone, detector or segmentor so that ``forward(images)`` returns a flat tuple of tensors.

    Detectors and segmentors run their ``_forward`` (backbone, neck and heads, no post-processing):
    a detector's raw head outputs per level, a segmentor's decode-head logits.

    Args:
        model: An mmghost backbone, or an mmdet/mmseg model with ``_forward``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> tuple:
        outputs = self.model._forward(images) if hasattr(self.model, '_forward') else self.model(images)
        return tuple(_flatten(outputs))


def _flatten(outputs) -> List[Tensor]:
    if isinstance(outputs, Tensor):
        return [outputs]
    return [t for item in outputs for t in _flatten(item)]


def export_onnx(model: nn.Module, example: Tensor, path: str, opset: int = 17, dynamic: bool = True,
                metadata: Optional[Dict[str, Any]] = None) -> List[str]:
    """Export ``model`` (eval mode) to ``path`` with dynamic batch, height and width (or the example's shape).

    Args:
        model: Backbone, detector or segmentor (see :class:`TensorOutputs`).
        example: An example input batch (N, 3, H, W); H and W of at least 64 px.
        path: The ``.onnx`` file to write.
        opset: ONNX opset. Defaults to 17.
        dynamic: False fixes every shape to the example's: the file takes only that input shape.
        metadata: Stored as JSON under the ``mmghost`` metadata key (a network file's, see
            :func:`deploy_metadata`); None stores none.

    Returns:
        The names of the outputs, ``output0``, ``output1``, ...
    """
    if example.dim() != 4 or min(example.shape[-2:]) < 64:
        raise ValueError(f'example must be an (N, 3, H, W) batch with H, W >= 64, got {tuple(example.shape)}')
    wrapped = TensorOutputs(model).eval()
    with torch.no_grad():
        names = [f'output{i}' for i in range(len(wrapped(example)))]
    axes = {INPUT_NAME: {0: 'batch', 2: 'height', 3: 'width'}}
    axes.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'} for name in names})
    trace_to_onnx(wrapped, example, path, names, axes if dynamic else {}, opset)
    if metadata is not None:
        add_metadata(path, metadata)
    return names


def add_metadata(path: str, metadata: Dict[str, Any]) -> None:
    """Store ``metadata`` as JSON under the ``mmghost`` key of the ONNX file ``path``."""
    import onnx  # the optional [deploy] extra; nothing else of mmghost needs it
    graph = onnx.load(path)
    graph.metadata_props.add(key=METADATA_KEY, value=json.dumps(metadata, sort_keys=True))
    onnx.save(graph, path)


def trace_to_onnx(module: nn.Module, example: Tensor, path: str, output_names: List[str],
                  dynamic_axes: Dict[str, Dict[int, str]], opset: int) -> None:
    """``torch.onnx.export`` by tracing, with input :data:`INPUT_NAME` (torch >= 2.5 is told not to use dynamo)."""
    tracing = {'dynamo': False} if 'dynamo' in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(module, (example, ), path, input_names=[INPUT_NAME], output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=opset, **tracing)


def export_end_to_end(model: nn.Module, path: str, metadata: Dict[str, Any], example_hw: Sequence[int] = (320, 320),
                      opset: int = 17, dynamic: bool = True) -> List[str]:
    """Export a detector or segmentor as one graph: uint8 BGR images in, predictions out.

    See :mod:`mmghost.deploy.end_to_end` for the inputs and outputs. Batch, height and width are dynamic,
    or with ``dynamic=False`` fixed to one image of ``example_hw`` (``demo/deploy_demo.py`` pads to it).

    Args:
        model: An mmdet detector or mmseg segmentor, in eval mode.
        path: The ``.onnx`` file to write.
        metadata: Stored as JSON under the ``mmghost`` metadata key (see :func:`deploy_metadata`).
        example_hw: Height and width of the tracing example (>= 64). Defaults to (320, 320).
        opset: ONNX opset. Defaults to 17.
        dynamic: False fixes the input to one image of ``example_hw``.

    Returns:
        The names of the outputs.
    """
    if len(example_hw) != 2 or min(example_hw) < 64:
        raise ValueError(f'example_hw must be (H, W) with H, W >= 64, got {tuple(example_hw)}')
    wrapped = end_to_end(model)
    example = torch.randint(0, 256, (1, *example_hw, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    if isinstance(wrapped, EndToEndDetector):
        names = ['boxes', 'scores', 'labels']
        axes = {name: {0: 'batch'} for name in names}
    else:
        names = ['class_map']
        axes = {'class_map': {0: 'batch', 1: 'height', 2: 'width'}}
    axes[INPUT_NAME] = {0: 'batch', 1: 'height', 2: 'width'}
    trace_to_onnx(wrapped, example, path, names, axes if dynamic else {}, opset)
    add_metadata(path, metadata)
    return names
