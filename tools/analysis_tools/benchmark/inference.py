"""The inference rows of one case: both contenders in every mode, their MACs, params, ratios and profiles."""
import argparse
import copy
import os.path as osp
from typing import Callable, Iterator, Sequence

import torch
import torch.nn as nn

from mmghost.analysis import conv_linear_macs
from mmghost.deploy import TensorOutputs, export_onnx, fuse_model, prepare_for_cpu_inference
from .cases import ROW_KEYS, Case
from .modes import INT8_MODE, MODES, modes_of
from .runtimes import (OpTimes, compare_ops, cpu_session, int8_session, onnxruntime_profile, session_runner,
                       torch_profile)
from .timing import synchronized, time_interleaved


def relative_difference(outputs: Sequence, reference: Sequence[torch.Tensor]) -> float:
    """max |a - b| / max |b| over all outputs.

    Args:
        outputs: A mode's outputs (tensors or arrays).
        reference: The eager outputs.
    """
    diff = max(float((torch.as_tensor(a).float() - b).abs().max()) for a, b in zip(outputs, reference))
    return diff / max(float(b.abs().max()) for b in reference)


class Contender:
    """One model in its modes at one input size (eager outputs kept as the reference).

    Args:
        model: The model, in eval mode.
        images: The input batch, on the device the torch modes run on.
        workdir: Where the ONNX files go.
        tag: The stem of the ONNX files' names.
        threads: Intra-op threads of the onnxruntime sessions.
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, workdir: str, tag: str, threads: int) -> None:
        model.to(images.device)
        self.eager = TensorOutputs(model).eval()
        self.images, self.threads = images, threads
        self.macs = conv_linear_macs(model, lambda: self.eager(images))
        self.params = sum(p.numel() for p in model.parameters())
        with torch.inference_mode():
            self.reference = self.eager(images)
        self.fused = fuse_model(copy.deepcopy(model))
        self.onnx_path = osp.join(workdir, f'{tag}.onnx')

    def runner(self, mode: str) -> Callable[[], object]:
        """One run of the model in a mode of :data:`MODES`.

        Args:
            mode: The mode.
        """
        if mode == 'eager':
            return synchronized(lambda: self.eager(self.images))
        if mode == 'deploy':
            deploy = prepare_for_cpu_inference(TensorOutputs(copy.deepcopy(self.fused)).eval())
            return synchronized(lambda: deploy(self.images))
        if mode == INT8_MODE:
            return session_runner(int8_session(self.onnx_file('onnxruntime'), self.images, self.threads), self.images)
        return session_runner(cpu_session(self.onnx_file(mode), self.threads), self.images)

    def onnx_file(self, mode: str) -> str:
        """The deploy model's ONNX file for a float onnxruntime mode, exported on first use.

        Args:
            mode: ``'onnxruntime'``, or ``'onnxruntime static'`` for the fixed-shape file.
        """
        static = mode == 'onnxruntime static'
        path = self.onnx_path.replace('.onnx', '-static.onnx') if static else self.onnx_path
        if not osp.isfile(path):
            export_onnx(self.fused, self.images, path, dynamic=not static)
        return path

    def profile(self, mode: str) -> OpTimes:
        """Self time (ms) and calls per operator over one run, by the profiler of the mode's runtime.

        Args:
            mode: A float mode of :data:`MODES`.
        """
        if MODES[mode].runtime == 'onnxruntime':
            return onnxruntime_profile(self.onnx_file(mode), self.images, self.threads,
                                       osp.join(osp.dirname(self.onnx_path), 'ort_profile'))
        return torch_profile(self.runner(mode))


def randomise_norm_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BatchNorm statistics and affine parameters (in place), so that folding them is checked.

    Args:
        model: The model.
        seed: The seed of the random values.
    """
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for tensor, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.5, 2.0),
                                      (module.weight, 0.5, 1.5), (module.bias, -0.5, 0.5)):
                if tensor is not None:
                    tensor.data.uniform_(low, high, generator=generator)
    return model


def network_input(case: Case, model: nn.Module) -> torch.Tensor:
    """One normalised image at the case's size, padded as the model's data preprocessor pads it.

    Args:
        case: The case.
        model: The model whose ``data_preprocessor`` (if any) sets the padding.
    """
    divisor = getattr(getattr(model, 'data_preprocessor', None), 'pad_size_divisor', 1)
    height, width = (-(-side // divisor) * divisor for side in case.size)
    return torch.randn(1, 3, height, width)


def run_case(case: Case, args: argparse.Namespace, workdir: str) -> Iterator[dict]:
    """The rows of one case, one per mode as it is measured: latency of both contenders, MACs, params,
    ratios, and the profiles of the target-mode rows where GhostNetV2 is slower (all with ``--profile-all``).

    Args:
        case: The case.
        args: The command line (:func:`.cli.parse_args`).
        workdir: Where the ONNX files go.
    """
    models = dict(ours=randomise_norm_statistics(case.ours.build()), twin=randomise_norm_statistics(case.twin.build()))
    images = network_input(case, models['ours']).to(args.device)
    contenders = {which: Contender(model, images, workdir, f'{case.name}-{which}'.replace(' ', '_'), args.threads)
                  for which, model in models.items()}
    del models
    repeats = args.heavy_repeats if case.heavy else args.repeats
    for mode in modes_of(case.name in (args.int8 or ()), args.device):
        runners = {which: c.runner(mode) for which, c in contenders.items()}
        with torch.inference_mode():
            results = time_interleaved(runners, args.warmup, repeats, args.min_seconds)
            differences = {which: relative_difference(runners[which](), c.reference)
                           for which, c in contenders.items()}
        del runners
        row = dict(case=case.name, size=list(images.shape[-2:]), mode=mode, twin_model=case.twin.label,
                   **{key: dict(results[which], macs=contenders[which].macs, params=contenders[which].params,
                                rel_diff_vs_eager=differences[which]) for which, key in ROW_KEYS.items()})
        row['speed_ratio'] = row['twin']['median_ms'] / row['ghostnetv2']['median_ms']
        row['mac_ratio'] = row['ghostnetv2']['macs'] / row['twin']['macs']
        if args.device == 'cpu' and MODES[mode].target and (row['speed_ratio'] < 1.0 or args.profile_all):
            row['profile'] = compare_ops(contenders['ours'].profile(mode), contenders['twin'].profile(mode))
        yield row
