"""ncnn files by pnnx: fp32 weights (pnnx stores fp16 by default) and a graph that takes any input size.

pnnx converts a TorchScript trace of the network. Traced at one size only, its resizes keep that size and
an input of another size gives wrong outputs without an error; traced with a second size (``inputshape2``),
each resize takes its size from the tensor it matches, so the file is right at every size.
"""
import copy
import os.path as osp
import subprocess
import tempfile
from typing import List

import torch
import torch.nn as nn
from torch import Tensor

from .onnx_export import TensorOutputs

NCNN_INPUT = 'in0'  # pnnx names the input in0 and the outputs out0, out1, ...


def _shape_arg(example: Tensor) -> str:
    return '[' + ','.join(str(n) for n in example.shape) + ']f32'


def unshare_modules(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which a module used in several places (RTMDet's convs shared across levels) is
    a copy of the same weights in each: ncnn has no weight shared between layers (pnnx would leave such a
    conv as a torch layer that ncnn cannot load), and the outputs are the same."""
    model = copy.deepcopy(model)
    seen = set()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if id(child) in seen:
                setattr(parent, name, copy.deepcopy(child))
            seen.add(id(child))
    return model


def export_ncnn(model: nn.Module, example: Tensor, second_example: Tensor, param_path: str) -> List[str]:
    """Write ``param_path`` (``.param``) and its weights (``.bin`` of the same stem) for ``model``.

    Args:
        model: Backbone, detector or segmentor in eval mode (see :class:`TensorOutputs`).
        example: An example input (1, 3, H, W).
        second_example: An input of another height and width, which makes every resize size-independent.
        param_path: The ``.param`` file to write.

    Returns:
        The names of the outputs, ``out0``, ``out1``, ...
    """
    if example.shape[-2:] == second_example.shape[-2:]:
        raise ValueError(f'second_example must have another height and width than example, both are '
                         f'{tuple(example.shape[-2:])}')
    import pnnx  # the optional [deploy-mobile] extra: the pnnx converter binary
    wrapped = TensorOutputs(unshare_modules(model)).eval()
    with torch.no_grad():
        num_outputs = len(wrapped(example))
    bin_path = osp.splitext(param_path)[0] + '.bin'
    with tempfile.TemporaryDirectory() as work_dir:
        with torch.no_grad():
            torch.jit.trace(wrapped, example).save(osp.join(work_dir, 'model.pt'))
        byproducts = {key: osp.join(work_dir, name) for key, name in [
            ('pnnxparam', 'model.pnnx.param'), ('pnnxbin', 'model.pnnx.bin'), ('pnnxpy', 'model_pnnx.py'),
            ('pnnxonnx', 'model.pnnx.onnx'), ('ncnnpy', 'model_ncnn.py')]}
        command = [pnnx.EXEC_PATH, 'model.pt', f'inputshape={_shape_arg(example)}',
                   f'inputshape2={_shape_arg(second_example)}', 'fp16=0', f'ncnnparam={osp.abspath(param_path)}',
                   f'ncnnbin={osp.abspath(bin_path)}'] + [f'{key}={path}' for key, path in byproducts.items()]
        result = subprocess.run(command, cwd=work_dir, capture_output=True, text=True)
    if result.returncode != 0 or not osp.isfile(param_path):
        raise RuntimeError(f'pnnx failed (exit status {result.returncode}):\n{result.stderr[-2000:]}')
    with open(param_path) as f:
        layer_types = {line.split()[0] for line in f.read().splitlines()[2:] if line.strip()}
    foreign = sorted(t for t in layer_types if '.' in t)  # ncnn's own layer types have no dot
    if foreign:
        raise RuntimeError(f'{param_path!r} holds layers that ncnn cannot run: {foreign}; the network has an '
                           'operation that pnnx does not convert to ncnn')
    return [f'out{i}' for i in range(num_outputs)]
