# RetinaNet-GhostNetV2 on the demo dataset (tools/misc/make_demo_data.py det), trained from random weights
# on CPU by `make demo` (figures in README.md, with the date and machine measured).
# Inherits configs/retinanet_ghostnetv2_coco.py and changes only:
# - data: data/demo_coco, 4 shape classes, 300 train / 60 val images of 160-256 px;
# - input scale: 320x320 (keep ratio) instead of 1333x800;
# - schedule: AdamW and a cosine decay over the epochs below, BN statistics trained (no ImageNet weights);
# - widths, slimmed for CPU time: FPN and head at 64 channels with 2 stacked convs instead of 256 with 4.
#   At 320x320 the full-width head costs ~14 GMACs per image (4+4 convs of 256x256x3x3 over the 2,134
#   positions of the five levels, plus the 720-channel classifier for 80 classes), about 40x the 0.34 GMACs
#   of the backbone; the slim head costs ~0.4 GMACs.
_base_ = '../retinanet_ghostnetv2_coco.py'

data_root = 'data/demo_coco/'
classes = ('circle', 'rectangle', 'triangle', 'cross')
image_scale = (320, 320)
max_epochs = 18

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=64),
    bbox_head=dict(num_classes=len(classes), in_channels=64, feat_channels=64, stacked_convs=2))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
dataset = dict(data_root=data_root, metainfo=dict(classes=classes))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    dataset=dict(**dataset, ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(**dataset, ann_file='annotations/instances_val.json', data_prefix=dict(img='val/'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=2e-5)
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=max_epochs // 2, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
# Every rank must end with the same weights (checked in multi-process runs); workers are re-created each
# epoch so that --resume continues exactly (see ResumableRandomnessHook, in default_hooks).
custom_hooks = [dict(type='mmghost.RankConsistencyHook')]
auto_scale_lr = dict(base_batch_size=8)
