"""mmghost's GhostNetV2 computes exactly what timm's (and so the official) network computes."""
import pytest
import torch

from oracle import TIMM_MODELS, copy_from_timm, make_timm_model, timm_stage_outputs

SIZES = [(224, 224), (193, 257), (97, 131)]


@pytest.mark.parametrize('widen_factor', sorted(TIMM_MODELS))
def test_every_stage_matches_timm(widen_factor):
    timm_model = make_timm_model(widen_factor, seed=1)
    backbone = copy_from_timm(timm_model, widen_factor, out_indices=tuple(range(10)))
    for height, width in SIZES:
        images = torch.randn(2, 3, height, width, generator=torch.Generator().manual_seed(height))
        expected = timm_stage_outputs(timm_model, images)
        with torch.no_grad():
            outputs = backbone(images)
        assert len(outputs) == len(expected) == 10
        for index, (out, ref) in enumerate(zip(outputs, expected)):
            assert out.shape == ref.shape, f'stage {index} at {height}x{width}'
            torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5,
                                       msg=lambda m: f'stage {index} at {height}x{width}: {m}')
        assert outputs[-1].shape[1] == timm_model.num_features  # the final 960*w-channel map


def test_backbone_without_the_last_conv_matches_timm(timm_100):
    """Tapping blocks.8 builds no blocks.9; the stages that are built still compute timm's outputs."""
    backbone = copy_from_timm(timm_100, out_indices=(4, 6, 8))
    assert len(backbone.blocks) == 9
    images = torch.randn(1, 3, 193, 257)
    expected = timm_stage_outputs(timm_100, images)
    with torch.no_grad():
        outputs = backbone(images)
    for out, index in zip(outputs, (4, 6, 8)):
        torch.testing.assert_close(out, expected[index], rtol=1e-5, atol=1e-5)


def test_one_changed_weight_is_detected(timm_100):
    """The comparison above is sensitive: scaling the weights of one DFC conv breaks it."""
    backbone = copy_from_timm(timm_100, out_indices=(9, ))
    images = torch.randn(1, 3, 128, 128)
    expected = timm_stage_outputs(timm_100, images)[-1]
    with torch.no_grad():
        torch.testing.assert_close(backbone(images)[0], expected, rtol=1e-5, atol=1e-5)
        backbone.blocks[6][2].ghost1.short_conv.get_submodule('4').weight.mul_(1.5)
        with pytest.raises(AssertionError):
            torch.testing.assert_close(backbone(images)[0], expected, rtol=1e-5, atol=1e-5)
