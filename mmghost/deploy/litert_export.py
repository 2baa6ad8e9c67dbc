"""LiteRT (TFLite) files by litert-torch: fp32, with the example's input size fixed, DFC gates up-sampled as
PyTorch does (:func:`rewrite_for_litert`)."""
import torch.nn as nn
from torch import Tensor

from .graph_rewrites import rewrite_for_litert
from .onnx_export import TensorOutputs


def export_litert(model: nn.Module, example: Tensor, path: str) -> int:
    """Write the ``.tflite`` file ``path`` for ``model`` (eval mode) at the size of ``example`` (1, 3, H, W).

    Returns:
        The number of outputs (``output_0``, ``output_1``, ... of the file's signature).
    """
    import litert_torch  # the optional [deploy-mobile] extra
    wrapped = TensorOutputs(rewrite_for_litert(model)).eval()
    converted = litert_torch.convert(wrapped, (example, ))
    converted.export(path)
    return len(wrapped(example))
