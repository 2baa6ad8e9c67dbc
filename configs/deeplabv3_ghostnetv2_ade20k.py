# DeepLabV3 (ASPP) with a GhostNetV2 1.0x backbone dilated to output stride 8, ADE20K, 512x512 crops,
# 160k iterations.
#
# Hardware: 4 GPUs x 4 images (batch 16), SyncBN, as the peer
#   mmseg mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512: 34.08 mIoU.
# Backbone: official ImageNet weights, every tensor used (dilation changes no parameter). The stride-2
#   blocks of blocks.5 and blocks.7 run at stride 1 and later spatial convs are dilated 2 and 4.
# Heads: ASPP on the last stage (blocks.9, 960 channels), FCN auxiliary head on the end of the
#   stride-16 resolution (blocks.6, 112 channels).
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmghost'], allow_failed_imports=False)

checkpoint = 'https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar'  # noqa: E501
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        output_stride=8,
        out_indices=(6, 9),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(in_channels=960, in_index=1),
    auxiliary_head=dict(in_channels=112, in_index=0))
# Stop at the first NaN/Inf loss, naming the iteration; store random states in checkpoints for --resume.
custom_hooks = [dict(type='FiniteLossHook'), dict(type='ResumableRandomnessHook')]
