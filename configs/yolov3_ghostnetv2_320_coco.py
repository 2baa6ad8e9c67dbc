# YOLOv3 with a GhostNetV2 1.0x backbone on COCO 2017 at 320x320, 300 epochs, mmdet's YOLOv3-MobileNetV2
# 320 recipe (its anchors and single-scale pipeline).
# Hardware: 8 GPUs x 24 images (batch 192); --auto-scale-lr for other GPU counts.
# Peer: mmdet yolov3_mobilenetv2_8xb24-320-300e_coco, 22.2 box AP.
# Cost at 320x320 against the peer: metafile.yml (python tools/analysis_tools/get_flops.py CONFIG --shape 320).
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py', './_base_/ghostnetv2_yolov3.py',
          './_base_/mmghost_runtime.py']
model = dict(backbone=_base_.ghostnetv2_backbone, neck=dict(in_channels=_base_.ghostnetv2_neck_in_channels))
default_hooks = _base_.mmghost_default_hooks
