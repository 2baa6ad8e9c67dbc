"""What the tools' ``--amp`` and ``--tta`` switches change in a config, as mmdet's and mmseg's tools do."""
import copy
from typing import Mapping, Optional, Type

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

# Without a GPU, --amp trains under CPU autocast (mmghost.engine.optimizers); its type in the mmghost scope.
CPU_AMP_WRAPPER = 'mmghost.CPUAutocastOptimWrapper'
# mmdet's tools/test.py falls back to this TTA model; mmseg's base configs all set SegTTAModel.
DEFAULT_TTA_MODELS = dict(
    mmdet=dict(type='DetTTAModel', tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)),
    mmseg=dict(type='SegTTAModel'))
FLIP_META_KEYS = ('flip', 'flip_direction')


def _optim_wrapper_class(type_: object, scope: str) -> Optional[Type]:
    """The class that ``optim_wrapper.type`` names in ``scope`` (None if nothing is registered so)."""
    if isinstance(type_, type):
        return type_
    with OPTIM_WRAPPERS.switch_scope_and_registry(scope) as registry:
        return registry.get(type_)


def enable_amp(cfg: Config) -> None:
    """``--amp``: mixed-precision training.

    A wrapper that already is an AMP wrapper (``AmpOptimWrapper`` or a subclass, e.g. the CPU autocast
    one) is kept as it is, with a warning, as mmseg's ``train.py`` does (mmdet's overwrites it). A plain
    ``OptimWrapper`` becomes ``AmpOptimWrapper`` with a dynamic loss scale on a GPU and the bfloat16 CPU
    autocast wrapper without one.

    Args:
        cfg: The config, changed in place.

    Raises:
        ValueError: ``optim_wrapper`` is of another type, which ``--amp`` cannot convert.
    """
    wrapper = cfg.optim_wrapper
    name = wrapper.get('type', 'OptimWrapper')
    wrapper_class = _optim_wrapper_class(name, cfg.default_scope)
    if wrapper_class is not None and issubclass(wrapper_class, AmpOptimWrapper):
        print_log(f'--amp: optim_wrapper is already an AMP wrapper ({name}); kept as it is',
                  logger='current', level=30)
        return
    if wrapper_class is not OptimWrapper:
        raise ValueError(f'--amp turns an OptimWrapper into an AMP wrapper; optim_wrapper.type is {name!r}. '
                         f'Set an AMP wrapper in the config instead')
    if torch.cuda.is_available():
        wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    else:
        wrapper.type = CPU_AMP_WRAPPER


def _innermost_dataset(dataset: Mapping) -> Mapping:
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def default_tta_pipeline(test_pipeline: list) -> list:
    """mmdet's fallback TTA pipeline: the test pipeline, its final packing step run on an unflipped and a
    horizontally flipped image (the unflipped one first: ``SegTTAModel`` takes its ground truth)."""
    pack = dict(test_pipeline[-1])
    if 'meta_keys' in pack:
        pack['meta_keys'] = (*pack['meta_keys'], *(k for k in FLIP_META_KEYS if k not in pack['meta_keys']))
    flips = [dict(type='RandomFlip', prob=prob, direction='horizontal') for prob in (0., 1.)]
    return [*copy.deepcopy(test_pipeline[:-1]), dict(type='TestTimeAug', transforms=[flips, [pack]])]


def enable_tta(cfg: Config) -> None:
    """``--tta``: test the config's ``tta_model`` on its ``tta_pipeline``.

    A config without them gets mmdet's defaults, as mmdet's ``test.py`` does (mmseg's has no fallback,
    but every mmseg base config sets ``SegTTAModel``): ``DetTTAModel`` (NMS over the augmentations) or
    ``SegTTAModel`` (mean of the softmax), and :func:`default_tta_pipeline` of the test pipeline.

    Args:
        cfg: The config, changed in place.
    """
    dataset = _innermost_dataset(cfg.test_dataloader.dataset)
    if 'tta_model' not in cfg:
        cfg.tta_model = DEFAULT_TTA_MODELS[cfg.default_scope]
        print_log(f'--tta: the config has no tta_model; using {cfg.tta_model}', logger='current', level=30)
    if 'tta_pipeline' not in cfg:
        cfg.tta_pipeline = default_tta_pipeline(dataset.pipeline)
        print_log('--tta: the config has no tta_pipeline; using the test pipeline with a horizontal flip',
                  logger='current', level=30)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset.pipeline = cfg.tta_pipeline
