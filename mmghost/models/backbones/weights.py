"""Strict loading of official, timm and mmghost GhostNetV2 weights into the backbone."""
from collections.abc import Mapping
from logging import Logger
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from torch import Tensor

from mmghost.utils.checkpoint import load_checkpoint_file

THOP_KEYS = ('total_ops', 'total_params')  # buffers that the official checkpoints carry from thop
HEAD_PREFIXES = ('conv_head.', 'classifier.')  # the classification head, not part of the backbone
STATE_DICT_KEYS = ('state_dict', 'model')  # where mmengine, timm and torchvision-style files nest weights


def backbone_state_dict(checkpoint: Mapping,
                        model: nn.Module,
                        prefix: Optional[str] = None) -> Tuple[Dict[str, Tensor], List[str]]:
    """Select the weights of ``model`` from a loaded checkpoint, refusing anything that does not fit.

    Accepted: a flat state dict (official ``ck_ghostnetv2_*.pth.tar``, timm), or one nested under
    ``state_dict``/``model`` (mmengine, training scripts). thop counters and the classification head
    are dropped and reported, and so are the weights of the modules that the model lists in its
    ``unbuilt_modules`` (stages after the last tapped one); every other key must match the model in name
    and shape.

    Args:
        checkpoint: The object loaded from the checkpoint file.
        model: The backbone the weights are for.
        prefix: Keep only keys starting with this prefix and strip it (e.g. ``'backbone.'`` for a
            detector checkpoint). Defaults to None.

    Returns:
        The state dict to load and the sorted list of dropped keys.

    Raises:
        TypeError: ``checkpoint`` is not a mapping of names to tensors.
        ValueError: shapes differ (names the first mismatching keys), backbone keys are missing, or
            keys unknown to the backbone are present.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'a checkpoint must hold a state dict (a mapping of names to tensors), '
                        f'got {type(checkpoint).__name__}')
    state = next((checkpoint[k] for k in STATE_DICT_KEYS if isinstance(checkpoint.get(k), Mapping)), checkpoint)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise ValueError(f'no key in the checkpoint starts with prefix {prefix!r}')
    not_tensors = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise TypeError(f'a checkpoint state dict must map names to tensors; {not_tensors[0]!r} holds '
                        f'{type(state[not_tensors[0]]).__name__}')

    unbuilt = tuple(f'{name}.' for name in getattr(model, 'unbuilt_modules', ()))
    dropped = {k for k in state if k.rsplit('.', 1)[-1] in THOP_KEYS or k.startswith(HEAD_PREFIXES + unbuilt)}
    state = {k: v for k, v in state.items() if k not in dropped}
    ignored = sorted(dropped)
    expected = model.state_dict()
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}'
                  for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    if mismatched:
        raise ValueError(f'checkpoint shapes do not match {_describe(model)}; first mismatching keys: '
                         f'{"; ".join(mismatched[:3])}. Is the widen_factor the checkpoint\'s?')
    missing = sorted(k for k in set(expected) - set(state) if not k.endswith('num_batches_tracked'))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f'checkpoint does not fit {_describe(model)}: {len(missing)} missing keys '
                         f'{missing[:3]}, {len(unexpected)} unexpected keys {unexpected[:3]}')
    return state, ignored


def _describe(model: nn.Module) -> str:
    width = getattr(model, 'widen_factor', None)
    return f'{type(model).__name__}(widen_factor={width})' if width is not None else type(model).__name__


def load_pretrained(model: nn.Module, filename: str, prefix: Optional[str], logger: Logger) -> None:
    """Load ``filename`` (a path or http(s) URL) into ``model`` strictly, logging what was dropped.

    Args:
        model: The backbone.
        filename: Checkpoint path or URL; loaded without executing arbitrary pickles.
        prefix: Key prefix to select and strip, or None.
        logger: Where to report the result.
    """
    state, ignored = backbone_state_dict(load_checkpoint_file(filename), model, prefix)
    model.load_state_dict(state, strict=False)
    heads = sorted({k.split('.', 1)[0] for k in ignored if k.startswith(HEAD_PREFIXES)})
    others = [k for k in ignored if not k.startswith(HEAD_PREFIXES)]
    thop = sum(1 for k in others if k.rsplit('.', 1)[-1] in THOP_KEYS)
    unbuilt = [k for k in others if k.rsplit('.', 1)[-1] not in THOP_KEYS]
    logger.info(f'Loaded {len(state)} backbone tensors from {filename}; ignored the classification head '
                f'{heads or "(none)"} and {thop} thop counters')
    if unbuilt:
        logger.info(f'Ignored {len(unbuilt)} tensors of the stages that out_indices leaves unbuilt '
                    f'{list(getattr(model, "unbuilt_modules", ()))}: {unbuilt}')
