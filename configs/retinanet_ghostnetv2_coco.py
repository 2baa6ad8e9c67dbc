# RetinaNet + FPN with a GhostNetV2 1.0x backbone on COCO 2017, 1x schedule (12 epochs).
#
# Hardware: 8 GPUs x 2 images (batch 16, lr 0.01). For another GPU count or batch, pass
#   --auto-scale-lr to tools/train.py: the lr is scaled by (GPUs x batch) / 16.
# Peers (mmdet, same head and schedule): retinanet_r18_fpn_1x_coco 31.7 box AP,
#   retinanet_r50_fpn_1x_coco 36.5 box AP.
# Backbone: ImageNet weights of the official release; FPN from the stage ends at strides 8/16/32
#   (out_indices 4, 6, 9), two extra levels on the stride-32 map, as in the R18/R50 recipe.
#   BN statistics stay frozen (norm_eval) and the stem plus the stride-4 stages are frozen, like the
#   ResNet peers' frozen_stages=1: 2 images per GPU are too few for BN statistics.
_base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', './_base_/mmghost_runtime.py']

checkpoint = 'https://github.com/huawei-noah/Efficient-AI-Backbones/releases/download/GhostNetV2/ck_ghostnetv2_10.pth.tar'  # noqa: E501
model = dict(
    backbone=dict(
        _delete_=True,
        type='GhostNetV2',
        widen_factor=1.0,
        out_indices=(4, 6, 9),
        frozen_stages=3,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    neck=dict(in_channels=[40, 112, 960], start_level=0, num_outs=5))

auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = _base_.mmghost_default_hooks
