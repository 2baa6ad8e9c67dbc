"""The inference rows of one case: both contenders in every mode, their MACs, params, ratios and profiles."""
import argparse
import copy
import os.path as osp
from typing import Callable, Dict, Iterator, Sequence

import torch
import torch.nn as nn

from mmghost.analysis import conv_linear_macs
from mmghost.deploy import (TensorOutputs, export_network, export_onnx, fuse_model, prepare_for_cpu_inference,
                            rewrite_for_onnxruntime)
from mmghost_runtime import open_model
from .cases import ROW_KEYS, Case
from .modes import INT8_MODE, MODES, modes_of
from .profiles import (OpTimes, compare_ops, litert_profile, mnn_profile, ncnn_profile, onnxruntime_profile,
                       openvino_profile, torch_profile)
from .runtimes import cpu_session, int8_session, session_runner
from .timing import synchronized, time_interleaved


def relative_difference(outputs: Sequence, reference: Sequence[torch.Tensor]) -> float:
    """max |a - b| / max |b| over all outputs.

    Args:
        outputs: A mode's outputs (tensors or arrays).
        reference: The eager outputs.
    """
    outputs = [torch.as_tensor(a).float() for a in outputs]
    if [a.shape for a in outputs] != [b.shape for b in reference]:
        raise ValueError(f'a mode returns shapes {[tuple(a.shape) for a in outputs]}, eager '
                         f'{[tuple(b.shape) for b in reference]}')
    diff = max(float((a - b).abs().max()) for a, b in zip(outputs, reference))
    return diff / max(float(b.abs().max()) for b in reference)


class Contender:
    """One model in its modes at one input size (eager outputs kept as the reference).

    Args:
        model: The model, in eval mode.
        images: The input batch, on the device the torch modes run on.
        workdir: Where the deployed files go.
        tag: The stem of the deployed files' names.
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, workdir: str, tag: str) -> None:
        model.to(images.device)
        self.eager = TensorOutputs(model).eval()
        self.images = images
        self.macs = conv_linear_macs(model, lambda: self.eager(images))
        # a detector's or segmentor's tensor forward feeds ``images`` to its backbone as they are
        backbone = getattr(model, 'backbone', None)
        self.backbone_macs = self.macs if backbone is None else conv_linear_macs(backbone, lambda: backbone(images))
        self.params = sum(p.numel() for p in model.parameters())
        with torch.inference_mode():
            self.reference = self.eager(images)
        self.fused = fuse_model(copy.deepcopy(model))
        self.onnx_path = osp.join(workdir, f'{tag}.onnx')
        self.network_files: Dict[str, str] = {}

    def runner(self, mode: str, threads: int) -> Callable[[], object]:
        """One run of the model in a mode of :data:`MODES`.

        Args:
            mode: The mode.
            threads: Intra-op threads of the runtime (the torch modes: ``torch.set_num_threads`` by the caller).
        """
        if mode == 'eager':
            return synchronized(lambda: self.eager(self.images))
        if mode == 'deploy':
            deploy = prepare_for_cpu_inference(TensorOutputs(copy.deepcopy(self.fused)).eval())
            return synchronized(lambda: deploy(self.images))
        if mode == INT8_MODE:
            return session_runner(int8_session(self.onnx_file('onnxruntime'), self.images, threads), self.images)
        runtime = MODES[mode].runtime
        if runtime == 'onnxruntime':
            return session_runner(cpu_session(self.onnx_file(mode), threads), self.images)
        deployed = open_model(self.network_file(mode), runtime, threads, require_metadata=False)
        inputs = self.images.numpy()
        return lambda: deployed.run(inputs)

    def onnx_file(self, mode: str) -> str:
        """The deploy model's ONNX file for an onnxruntime float mode, exported on first use.

        Args:
            mode: ``'onnxruntime'`` (rewritten), ``'onnxruntime static'`` (rewritten, fixed shape) or
                ``'onnxruntime plain'``.
        """
        path = self.onnx_path.replace('.onnx', f'-{mode.replace(" ", "-")}.onnx')
        if not osp.isfile(path):
            static = MODES[mode].static
            model = self.fused if mode == 'onnxruntime plain' else rewrite_for_onnxruntime(self.fused, static=static)
            export_onnx(model, self.images, path, dynamic=not static)
        return path

    def network_file(self, mode: str) -> str:
        """The deploy model's file for a mode of a runtime other than onnxruntime, exported on first use.

        Args:
            mode: ``'openvino'``, ``'openvino static'``, ``'ncnn'``, ``'mnn'`` or ``'litert'``.
        """
        path = self.onnx_path.replace('.onnx', f'-{mode.replace(" ", "-")}.onnx')
        if mode not in self.network_files:
            self.network_files[mode] = export_network(self.fused, None, MODES[mode].runtime, path,
                                                      self.images.shape[-2:], dynamic=not MODES[mode].static)
        return self.network_files[mode]

    def profile(self, mode: str, threads: int) -> OpTimes:
        """Self time (ms) and calls per operator over one run, by the profiler of the mode's runtime.

        Args:
            mode: A float mode of :data:`MODES` (its runtime's profiler: :data:`.profiles.PROFILERS`).
            threads: Intra-op threads.
        """
        runtime = MODES[mode].runtime
        if runtime == 'onnxruntime':
            return onnxruntime_profile(self.onnx_file(mode), self.images, threads,
                                       osp.join(osp.dirname(self.onnx_path), 'ort_profile'))
        profilers = dict(openvino=openvino_profile, ncnn=ncnn_profile, mnn=mnn_profile, litert=litert_profile)
        if runtime in profilers:
            return profilers[runtime](self.network_file(mode), self.images, threads)
        return torch_profile(self.runner(mode, threads))


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
    models = dict(ours=randomise_norm_statistics(case.ours.build(args.ghostnetv2_options)),
                  twin=randomise_norm_statistics(case.twin.build()))
    images = network_input(case, models['ours']).to(args.device)
    contenders = {which: Contender(model, images, workdir, f'{case.name}-{which}'.replace(' ', '_'))
                  for which, model in models.items()}
    del models
    repeats = args.heavy_repeats if case.heavy else args.repeats
    for threads in args.threads:
        torch.set_num_threads(threads)
        for mode in modes_of(case.name in (args.int8 or ()), args.device):
            if not args.modes or mode in args.modes:
                yield measure(case, contenders, mode, threads, repeats, args)


def measure(case: Case, contenders: Dict[str, Contender], mode: str, threads: int, repeats: int,
            args: argparse.Namespace) -> dict:
    """The row of one mode at one thread count: both contenders timed alternately, their outputs against eager.

    Args:
        case: The case.
        contenders: Its two contenders, by ``ours`` and ``twin``.
        mode: The mode.
        threads: Threads of the runtime.
        repeats: Timed runs at least.
        args: The command line.
    """
    runners = {which: c.runner(mode, threads) for which, c in contenders.items()}
    with torch.inference_mode():
        results = time_interleaved(runners, args.warmup, repeats, args.min_seconds)
        differences = {which: relative_difference(runners[which](), c.reference) for which, c in contenders.items()}
    del runners
    size = list(contenders['ours'].images.shape[-2:])
    row = dict(case=case.name, size=size, mode=mode, threads=threads, twin_model=case.twin.label,
               **{key: dict(results[which], macs=contenders[which].macs,
                            backbone_macs=contenders[which].backbone_macs, params=contenders[which].params,
                            rel_diff_vs_eager=differences[which]) for which, key in ROW_KEYS.items()})
    row['speed_ratio'] = row['twin']['median_ms'] / row['ghostnetv2']['median_ms']
    row['mac_ratio'] = row['ghostnetv2']['macs'] / row['twin']['macs']
    if args.device == 'cpu' and MODES[mode].target and (row['speed_ratio'] < 1.0 or args.profile_all):
        row['profile'] = compare_ops(contenders['ours'].profile(mode, threads),
                                     contenders['twin'].profile(mode, threads))
    return row
