"""ONNX export with dynamic height and width."""
from typing import List

import torch
import torch.nn as nn
from torch import Tensor


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


def export_onnx(model: nn.Module, example: Tensor, path: str, opset: int = 17) -> List[str]:
    """Export ``model`` (eval mode) to ``path`` with dynamic batch, height and width.

    Args:
        model: Backbone, detector or segmentor (see :class:`TensorOutputs`).
        example: An example input batch (N, 3, H, W); H and W of at least 64 px.
        path: The ``.onnx`` file to write.
        opset: ONNX opset. Defaults to 17.

    Returns:
        The names of the outputs, ``output0``, ``output1``, ...
    """
    if example.dim() != 4 or min(example.shape[-2:]) < 64:
        raise ValueError(f'example must be an (N, 3, H, W) batch with H, W >= 64, got {tuple(example.shape)}')
    wrapped = TensorOutputs(model).eval()
    with torch.no_grad():
        names = [f'output{i}' for i in range(len(wrapped(example)))]
    dynamic = {'images': {0: 'batch', 2: 'height', 3: 'width'}}
    dynamic.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'} for name in names})
    torch.onnx.export(wrapped, (example, ), path, input_names=['images'], output_names=names,
                      dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    return names

