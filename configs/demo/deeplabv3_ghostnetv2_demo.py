# DeepLabV3-GhostNetV2 on the demo segmentation dataset (tools/misc/make_demo_data.py seg), trained from
# random weights on CPU by `make demo-seg` (figures in README.md, with the date and machine measured).
# Inherits configs/deeplabv3_ghostnetv2_ade20k.py and changes only:
# - data: data/demo_ade/ADEChallengeData2016 in the ADE20K layout, 4 classes, label 0 ("other") ignored
#   through reduce_zero_label as in ADE20K; BaseSegDataset, since ADE20KDataset fixes ADE's 150 names;
# - crop size 160x160 (images are 128-224 px) and the matching resize scale;
# - schedule: AdamW, a few hundred iterations, BN instead of SyncBN (one CPU process);
# - head widths, slimmed for CPU time: at output stride 8 the real ASPP (160 -> 4 x 512 channels, three
#   dilated 3x3 branches, 3x3 bottleneck) costs 5.64 GMACs on a 160x160 crop (a 20x20 map), 13x the
#   dilated backbone's 0.43 GMACs; with 64 channels it costs 0.19 GMACs (Conv2d + Linear multiply-adds of
#   the decode head, mmghost.analysis.conv_linear_macs). ASPP rates are
#   scaled with the crop (1, 12, 24, 36 for 512 px crops become 1, 4, 8, 12 for 160 px), the FCN
#   auxiliary head has 32 channels.
_base_ = '../deeplabv3_ghostnetv2_ade20k.py'

data_root = 'data/demo_ade/ADEChallengeData2016'
classes = ('stripes', 'checks', 'dots', 'shape')
palette = [[220, 20, 60], [0, 130, 200], [255, 225, 25], [60, 180, 75]]
crop_size = (160, 160)
scale = (640, 160)
max_iters = 700
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, init_cfg=None),
    decode_head=dict(channels=64, dilations=(1, 4, 8, 12), num_classes=len(classes), norm_cfg=norm_cfg),
    auxiliary_head=dict(channels=32, num_classes=len(classes), norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=scale, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
dataset = dict(
    _delete_=True,
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=True)
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=False,
    dataset=dict(**dataset, data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2,
    dataset=dict(**dataset, data_prefix=dict(img_path='images/validation',
                                             seg_map_path='annotations/validation'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters, eta_min=2e-5)
]
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=max_iters // 2, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
# Every rank must end with the same weights (checked in multi-process runs); workers are re-created each
# epoch so that --resume continues exactly (see ResumableRandomnessHook, in default_hooks).
custom_hooks = [dict(type='mmghost.RankConsistencyHook')]
