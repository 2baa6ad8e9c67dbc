"""timm's GhostNetV2 as the numeric oracle: models with random weights and statistics, stage taps."""
from typing import Dict, List

import timm
import torch
import torch.nn as nn

from mmghost.models import GhostNetV2
from mmghost.models.backbones.weights import backbone_state_dict

TIMM_MODELS = {1.0: 'ghostnetv2_100', 1.3: 'ghostnetv2_130', 1.6: 'ghostnetv2_160'}


def randomize_norm_stats(model: nn.Module, seed: int) -> None:
    """Give every BatchNorm non-trivial statistics and affine parameters, so BN is not a no-op."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)


def make_timm_model(widen_factor: float, seed: int = 0) -> nn.Module:
    """timm's GhostNetV2 of this width with random weights and BN statistics, in eval mode."""
    torch.manual_seed(seed)
    model = timm.create_model(TIMM_MODELS[widen_factor], pretrained=False)
    randomize_norm_stats(model, seed)
    return model.eval()


def timm_stage_outputs(model: nn.Module, images: torch.Tensor) -> List[torch.Tensor]:
    """The output of every ``blocks.i`` of a timm GhostNet (hooks, since its taps skip stage ends)."""
    outputs: Dict[int, torch.Tensor] = {}
    handles = [stage.register_forward_hook(lambda m, i, o, idx=idx: outputs.__setitem__(idx, o.clone()))
               for idx, stage in enumerate(model.blocks)]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    return [outputs[i] for i in range(len(model.blocks))]


def copy_from_timm(timm_model: nn.Module, widen_factor: float = 1.0, **kwargs) -> GhostNetV2:
    """An mmghost backbone of ``widen_factor`` with the timm model's weights, in eval mode."""
    backbone = GhostNetV2(widen_factor=widen_factor, **kwargs)
    state, _ = backbone_state_dict(timm_model.state_dict(), backbone)
    backbone.load_state_dict(state, strict=False)
    return backbone.eval()


def official_checkpoint(timm_model, path):
    """Write a file shaped like ``ck_ghostnetv2_*.pth.tar``: flat timm-named weights plus thop counters."""
    state = dict(timm_model.state_dict())
    for name, _ in list(timm_model.named_modules()):
        prefix = f'{name}.' if name else ''
        state[f'{prefix}total_ops'] = torch.zeros(1, dtype=torch.float64)
        state[f'{prefix}total_params'] = torch.zeros(1, dtype=torch.float64)
    torch.save(state, path)
    return state
