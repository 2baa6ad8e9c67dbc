# DeepLabV3 (ASPP) with a GhostNetV2 1.0x backbone dilated to output stride 8, ADE20K, 512x512 crops,
# 160k iterations.
#
# Hardware: 4 GPUs x 4 images (batch 16), SyncBN, as the peer
#   mmseg mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512: 34.08 mIoU.
# Backbone: official ImageNet weights (dilation changes no parameter; the final 1x1 conv blocks.9 is not
#   built and its weights are dropped). The stride-2 blocks of blocks.5 and blocks.7 run at stride 1 and
#   later spatial convs are dilated 2 and 4; DFC attention pools by 4 and 8 there, as pretrained.
# Heads: ASPP on the end of the last bottleneck stage (blocks.8, 160 channels), as the peer reads
#   MobileNetV2's last bottleneck stage (320 channels); FCN auxiliary head on the end of the stride-16
#   resolution (blocks.6, 112 channels).
# Cost at 512x512 against the peer: metafile.yml (python tools/analysis_tools/get_flops.py CONFIG --shape 512).
#   ASPP on blocks.9 (960 channels) would cost 110.0 GMACs; on the demo data it did not score reliably
#   higher (two seeds each, docs/demo.md).
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-160k_ade20k-512x512.py', './_base_/mmghost_runtime.py']

checkpoint = 'https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar'  # noqa: E501
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        output_stride=8,
        out_indices=(6, 8),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(in_channels=160, in_index=1),
    auxiliary_head=dict(in_channels=112, in_index=0))
default_hooks = _base_.mmghost_default_hooks
