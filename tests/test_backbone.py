"""The dense-prediction contract of the GhostNetV2 backbone."""
import math

import pytest
import torch
import torch.nn as nn

from mmghost.models import GhostNetV2
from mmghost.models.layers import GhostModule

STAGE_STRIDES = (2, 4, 4, 8, 8, 16, 16, 32, 32, 32)
STAGE_CHANNELS_1X = (16, 24, 24, 40, 40, 80, 112, 160, 160, 960)


def test_stage_table_strides_and_channels():
    model = GhostNetV2(out_indices=tuple(range(10)))
    assert model.stage_strides == STAGE_STRIDES
    assert model.stage_channels == STAGE_CHANNELS_1X
    assert GhostNetV2().out_indices == (2, 4, 6, 9)
    assert GhostNetV2().out_channels == (24, 40, 112, 960)


@pytest.mark.parametrize('size', [(32, 32), (33, 47), (64, 32), (127, 95), (224, 224)])
def test_every_index_has_ceil_consistent_shape(size):
    model = GhostNetV2(out_indices=tuple(range(10))).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, *size))
    for index, out in enumerate(outputs):
        stride = STAGE_STRIDES[index]
        assert out.shape == (1, STAGE_CHANNELS_1X[index], math.ceil(size[0] / stride),
                             math.ceil(size[1] / stride)), f'index {index}'
        assert torch.isfinite(out).all()


@pytest.mark.parametrize('out_indices,num_built', [((2, 4, 6, 8), 9), ((1, 7), 8), ((2, ), 3), ((9, ), 10)])
def test_stages_after_the_last_tap_are_not_built(out_indices, num_built):
    model = GhostNetV2(out_indices=out_indices)
    assert len(model.blocks) == num_built
    assert model.unbuilt_modules == tuple(f'blocks.{i}' for i in range(num_built, 10))
    assert not any(name.startswith(model.unbuilt_modules) for name in model.state_dict())
    assert model.stage_channels == STAGE_CHANNELS_1X  # the table still describes the whole network
    # Every parameter takes part in the loss: no find_unused_parameters needed under DDP.
    sum(out.mean() for out in model.train()(torch.randn(2, 3, 64, 64))).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_out_indices_subset_returns_only_those():
    model = GhostNetV2(out_indices=(1, 7)).eval()
    outputs = model(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outputs] == [(1, 24, 16, 24), (1, 160, 2, 3)]


@pytest.mark.parametrize('widen_factor', [0.5, 1.3, 1.6, 2.0])
def test_width_scales_channels(widen_factor):
    model = GhostNetV2(widen_factor=widen_factor)
    expected = [max(4, int(c * widen_factor + 2) // 4 * 4) for c in (24, 40, 112, 960)]
    assert list(model.out_channels) == expected
    outputs = model.eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outputs] == expected


@pytest.mark.parametrize('output_stride,strides', [
    (16, (2, 4, 4, 8, 8, 16, 16, 16, 16, 16)),
    (8, (2, 4, 4, 8, 8, 8, 8, 8, 8, 8)),
])
def test_dilated_output_stride(output_stride, strides):
    model = GhostNetV2(output_stride=output_stride, out_indices=tuple(range(10))).eval()
    assert model.stage_strides == strides
    outputs = model(torch.randn(1, 3, 97, 130))
    for out, stride in zip(outputs, strides):
        assert out.shape[-2:] == (math.ceil(97 / stride), math.ceil(130 / stride))
    # Same parameters, same names: pretrained weights of the undilated model fit unchanged.
    reference = GhostNetV2().state_dict()
    dilated = model.state_dict()
    assert dilated.keys() == reference.keys()
    assert all(dilated[k].shape == reference[k].shape for k in reference)


def test_dilation_follows_the_replaced_strides():
    model = GhostNetV2(output_stride=8)
    first = model.blocks[5][0]  # stride-2 block turned into stride 1: its input is at dilation 1
    assert first.conv_dw.stride == (1, 1) and first.conv_dw.dilation == (1, 1)
    assert first.ghost2.cheap_operation[0].dilation == (2, 2)
    assert model.blocks[7][0].conv_dw.dilation == (2, 2)
    assert model.blocks[8][0].ghost1.cheap_operation[0].dilation == (4, 4)
    # DFC attention pools by twice the dilation and runs its convs undilated, as trained.
    assert model.blocks[6][0].ghost1.short_conv.dilation == 2
    assert model.blocks[8][0].ghost1.short_conv.dilation == 4
    assert all(conv.dilation == (1, 1) for conv in model.modules()
               if isinstance(conv, nn.Conv2d) and conv.kernel_size in ((1, 5), (5, 1)))


def test_dfc_attention_placement():
    def attended(model):
        return [m.short_conv is not None for stage in model.blocks[:9] for block in stage
                for m in (block.ghost1, )]

    assert attended(GhostNetV2()) == [False, False] + [True] * 14
    assert attended(GhostNetV2(attention_blocks='all')) == [True] * 16
    assert attended(GhostNetV2(attention_blocks='none')) == [False] * 16
    for stage in GhostNetV2().blocks[:9]:
        for block in stage:
            assert block.ghost2.short_conv is None


def test_bilinear_upsampling_changes_only_the_gate():
    nearest = GhostNetV2(out_indices=(9, )).eval()
    bilinear = GhostNetV2(out_indices=(9, ), attention_upsample='bilinear').eval()
    bilinear.load_state_dict(nearest.state_dict())
    images = torch.randn(1, 3, 64, 64)
    assert bilinear.blocks[2][0].ghost1.short_conv.upsample_mode == 'bilinear'
    assert not torch.allclose(nearest(images)[0], bilinear(images)[0])


def test_frozen_stages_stop_gradients_and_stay_in_eval():
    model = GhostNetV2(frozen_stages=3)
    model.train()
    for module in (model.conv_stem, model.bn1, *model.blocks[:3]):
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in model.blocks[3:]:
        assert all(p.requires_grad for p in module.parameters())
        assert module.training
    running_mean = model.blocks[2][0].ghost1.primary_conv[1].running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert torch.equal(running_mean, model.blocks[2][0].ghost1.primary_conv[1].running_mean)


def test_frozen_stages_zero_freezes_only_the_stem():
    model = GhostNetV2(frozen_stages=0).train()
    assert not model.conv_stem.weight.requires_grad and not model.bn1.training
    assert all(p.requires_grad for p in model.blocks.parameters())


def test_norm_eval_keeps_batchnorm_statistics():
    model = GhostNetV2(norm_eval=True)
    assert model.train() is model
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    before = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    model(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert model.blocks[0][0].ghost1.primary_conv[0].weight.requires_grad


def test_eval_returns_self():
    model = GhostNetV2()
    assert model.eval() is model and not model.training


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = GhostNetV2(out_indices=(4, 9))
    checkpointed = GhostNetV2(out_indices=(4, 9), with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    images = torch.randn(2, 3, 64, 80)
    grads = []
    for model in (plain, checkpointed):
        model.train()
        sum(o.square().mean() for o in model(images)).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize('norm_cfg', [dict(type='GN', num_groups=4), dict(type='SyncBN')])
def test_norm_cfg_is_applied_everywhere(norm_cfg):
    model = GhostNetV2(norm_cfg=norm_cfg)
    expected = nn.GroupNorm if norm_cfg['type'] == 'GN' else nn.SyncBatchNorm
    norms = [m for m in model.modules() if isinstance(m, (nn.GroupNorm, nn.modules.batchnorm._BatchNorm))]
    assert norms and all(isinstance(m, expected) for m in norms)
    if expected is nn.GroupNorm:
        assert model.eval()(torch.randn(1, 3, 64, 64))[-1].shape == (1, 960, 2, 2)


def test_act_cfg_is_applied():
    model = GhostNetV2(act_cfg=dict(type='HSwish'))
    assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    assert isinstance(model.act1, nn.Hardswish)


def test_ghost_module_keeps_the_requested_odd_width():
    module = GhostModule(8, 7).eval()
    assert module(torch.randn(1, 8, 9, 9)).shape == (1, 7, 9, 9)


@pytest.mark.parametrize('kwargs,name', [
    (dict(widen_factor=0), 'widen_factor'),
    (dict(widen_factor=-1.3), 'widen_factor'),
    (dict(out_indices=(2, 10)), 'out_indices'),
    (dict(out_indices=(-1, )), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
    (dict(out_indices=(4, 2)), 'out_indices'),
    (dict(frozen_stages=11), 'frozen_stages'),
    (dict(frozen_stages=-2), 'frozen_stages'),
    (dict(output_stride=12), 'output_stride'),
    (dict(output_stride=64), 'output_stride'),
    (dict(attention_upsample='bicubic'), 'attention_upsample'),
    (dict(attention_blocks='some'), 'attention_blocks'),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GhostNetV2(**kwargs)


@pytest.mark.parametrize('kwargs,name', [
    (dict(widen_factor='1.0'), 'widen_factor'),
    (dict(out_indices=4), 'out_indices'),
])
def test_bad_argument_types_raise_type_error_naming_them(kwargs, name):
    with pytest.raises(TypeError, match=name):
        GhostNetV2(**kwargs)


def test_unknown_argument_is_rejected():
    with pytest.raises(TypeError, match='widen'):
        GhostNetV2(widen=1.0)
