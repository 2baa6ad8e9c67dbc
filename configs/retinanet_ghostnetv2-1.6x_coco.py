# RetinaNet + FPN, GhostNetV2 1.6x (official ImageNet weights); everything else as
# retinanet_ghostnetv2_coco.py: 8 GPUs x 2 images, 1x schedule. Peer: retinanet_r18_fpn_1x_coco 31.7 AP.
_base_ = './retinanet_ghostnetv2_coco.py'
model = dict(
    backbone=dict(
        widen_factor=1.6,
        init_cfg=dict(checkpoint='https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_16.pth.tar')),  # noqa: E501
    neck=dict(in_channels=[64, 180, 1536]))
