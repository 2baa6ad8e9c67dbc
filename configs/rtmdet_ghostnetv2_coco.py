# RTMDet (CSPNeXt-PAFPN neck, separate-BN head) with a GhostNetV2 1.0x backbone on COCO 2017, 640x640,
# 300 epochs: mmdet's RTMDet-tiny recipe (Mosaic/MixUp pipeline, AdamW, EMA, pipeline switch at epoch 280)
# with only the backbone, its taps and the input normalisation changed.
#
# Hardware: 8 GPUs x 32 images (batch 256), SyncBN as the peer; --auto-scale-lr for other GPU counts.
# Peer: mmdet rtmdet_tiny_8xb32-300e_coco (CSPNeXt-tiny), 41.1 box AP, 4.8M params, 8.1 GFLOPs (mmdet's
#   figures).
# Backbone: official ImageNet weights; taps at the stage ends of strides 8/16/32 (blocks.4, blocks.6,
#   blocks.8: 40, 112, 160 channels), i.e. the last bottleneck stage as in the other mmghost configs.
#   Tapping the 960-channel 1x1 conv (blocks.9) instead would widen the PAFPN's stride-32 layers: PAFPN
#   2.47 instead of 0.82 GMACs (the backbone costs 1.35), 8.80M instead of 4.53M params. The PAFPN keeps
#   the peer's 96 output channels, so the head is the peer's head unchanged. Inputs are normalised as for the
#   ImageNet weights (RGB mean/std; the peer uses BGR for CSPNeXt) and padded to a multiple of 32, so that any
#   image size works.
# Parameters and MACs against the peer: metafile.yml (`python tools/analysis_tools/get_flops.py CONFIG --shape 640`).
_base_ = ['mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', './_base_/mmghost_runtime.py']

checkpoint = 'https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar'  # noqa: E501
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(4, 6, 8),
        norm_cfg=dict(type='SyncBN'),
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[40, 112, 160]))

# The recipe's learning rate (0.004) is for 8 GPUs x 32 images: --auto-scale-lr scales it from that batch.
auto_scale_lr = dict(enable=False, base_batch_size=256)
default_hooks = _base_.mmghost_default_hooks
