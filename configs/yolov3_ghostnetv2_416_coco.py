# YOLOv3 with a GhostNetV2 1.0x backbone on COCO 2017, multi-scale 320-416 training, 416 test, 300 epochs
# (30 epochs of a 10x repeated dataset), mmdet's YOLOv3-MobileNetV2 recipe (96-channel neck and head).
# Hardware: 8 GPUs x 24 images (batch 192); --auto-scale-lr for other GPU counts.
# Peer: mmdet yolov3_mobilenetv2_8xb24-ms-416-300e_coco, 23.9 box AP.
# Cost at 416x416, Conv2d + Linear multiply-adds: 2.290 GMACs, 4.99M parameters; the peer 2.781 GMACs,
#   3.74M (2026-11-30, 2-core x86_64 CPU: python tools/analysis_tools/get_flops.py CONFIG --shape 416,
#   CONFIG = this file or mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py).
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py', './_base_/ghostnetv2_yolov3.py']
model = dict(backbone=_base_.ghostnetv2_backbone, neck=dict(in_channels=_base_.ghostnetv2_neck_in_channels))
# Checkpoint files are written atomically (a temporary file renamed over the target).
default_hooks = dict(checkpoint=dict(type='mmghost.AtomicCheckpointHook'))
