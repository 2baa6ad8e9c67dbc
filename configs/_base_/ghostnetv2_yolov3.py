# The GhostNetV2-specific part of the YOLOv3 configs: backbone 1.0x with the official ImageNet weights,
# taps at the stage ends of strides 8/16/32, and the YOLOv3 neck inputs in the neck's order (32/16/8).
# The stride-32 tap is the end of the last bottleneck stage (blocks.8, 160 channels), as the peer taps
# MobileNetV2's last bottleneck stage (320 channels); the final 1x1 conv blocks.9 (960 channels) is not
# built and its pretrained weights are dropped.
# ReLU is kept (the pretrained weights were trained with it); mmdet's MobileNetV2 recipe uses LeakyReLU.
ghostnetv2_backbone = dict(
    _delete_=True,
    type='GhostNetV2',
    widen_factor=1.0,
    out_indices=(4, 6, 8),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar'))  # noqa: E501
ghostnetv2_neck_in_channels = [160, 112, 40]
