# YOLOv3 with a GhostNetV2 1.0x backbone on COCO 2017, multi-scale 320-416 training, 416 test, 300 epochs
# (30 epochs of a 10x repeated dataset), mmdet's YOLOv3-MobileNetV2 recipe (96-channel neck and head).
# Hardware: 8 GPUs x 24 images (batch 192); --auto-scale-lr for other GPU counts.
# Peer: mmdet yolov3_mobilenetv2_8xb24-ms-416-300e_coco, 23.9 box AP.
# Cost at 416x416 against the peer: metafile.yml (python tools/analysis_tools/get_flops.py CONFIG --shape 416).
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py', './_base_/ghostnetv2_yolov3.py',
          './_base_/mmghost_runtime.py']
model = dict(backbone=_base_.ghostnetv2_backbone, neck=dict(in_channels=_base_.ghostnetv2_neck_in_channels))
default_hooks = _base_.mmghost_default_hooks
