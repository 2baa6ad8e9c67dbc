# mmghost's runtime, named once for every mmghost config. A config inherits this file beside its mmdet/mmseg
# base and merges the hooks into its default_hooks:
#   _base_ = ['mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', './_base_/mmghost_runtime.py']
#   default_hooks = _base_.mmghost_default_hooks
# (default_hooks is a dict, so configs that inherit that config keep these entries while they change others;
# mmengine refuses one top-level key in two bases, hence the separate name here.)
custom_imports = dict(imports=['mmghost'], allow_failed_imports=False)
mmghost_default_hooks = dict(
    # checkpoint files written atomically (a temporary file renamed over the target)
    checkpoint=dict(type='mmghost.AtomicCheckpointHook'),
    # every rank stops at the first NaN/Inf loss of any rank
    finite_loss=dict(type='mmghost.FiniteLossHook'),
    # every rank's random states stored in checkpoints, restored by --resume
    resumable_randomness=dict(type='mmghost.ResumableRandomnessHook'),
    # the Runner's own load_from/resume (also under mmdet's and mmseg's tools) runs no code from the file and
    # works with torch >= 2.6
    safe_checkpoint_loading=dict(type='mmghost.SafeCheckpointLoadingHook'))
