"""What a runtime needs besides the graph, read from the config: task, class names and colours, and the
test pipeline's resize and pad. Stored as JSON in the ONNX file's ``mmghost`` metadata entry."""
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

METADATA_KEY = 'mmghost'


def find_transform(pipeline: Sequence[dict], name: str) -> Optional[dict]:
    """The first transform of ``pipeline`` whose type is ``name`` (any registry prefix), or None."""
    return next((t for t in pipeline if str(t['type']).split('.')[-1] == name), None)


def dataset_metainfo(cfg: Config) -> dict:
    """The test dataset's ``metainfo`` from the config, else its class's ``METAINFO``."""
    dataset = cfg.test_dataloader.dataset
    if dataset.get('metainfo'):
        return dict(dataset.metainfo)
    init_default_scope(cfg.default_scope)
    return dict(getattr(DATASETS.get(dataset.type), 'METAINFO', {}))


def deploy_metadata(cfg: Config, task: str, num_classes: int, network: Optional[dict] = None) -> Dict[str, Any]:
    """The metadata of a deployed file: an end-to-end graph, or with ``network`` a network file.

    Args:
        cfg: The model's config.
        task: ``'detection'`` or ``'segmentation'``.
        num_classes: The model's number of classes (names are ``class_i`` if the dataset has another count).
        network: What :func:`~mmghost.deploy.network_metadata.network_metadata` returns, for a file that holds
            the network only.

    Returns:
        ``task``, ``classes``, ``palette`` (RGB triples, or None), ``resize`` (``scale`` (w, h) and
        ``keep_ratio``, as mmcv's ``Resize``; None if the pipeline does not resize), ``pad`` (``size``
        (w, h) or ``size_divisor``, and ``value``, as mmcv's ``Pad``; None if it does not pad), ``graph``
        (``'end_to_end'`` or ``'network'``) and, for a network file, ``network``.
    """
    if task not in ('detection', 'segmentation'):
        raise ValueError(f"task must be 'detection' or 'segmentation', got {task!r}")
    pipeline = cfg.test_dataloader.dataset.pipeline
    metainfo = dataset_metainfo(cfg)
    classes: List[str] = list(metainfo.get('classes', ()))
    if len(classes) != num_classes:
        classes = [f'class_{i}' for i in range(num_classes)]
    palette = metainfo.get('palette')
    resize = find_transform(pipeline, 'Resize')
    pad = find_transform(pipeline, 'Pad')
    if resize is not None and resize.get('scale') is None:
        raise ValueError(f'the test pipeline resizes by scale_factor={resize.get("scale_factor")!r}; the '
                         'end-to-end metadata supports Resize(scale=...)')
    pad_value = pad.get('pad_val', 0) if pad else 0
    pad_value = pad_value.get('img', 0) if isinstance(pad_value, dict) else pad_value
    extra = dict(graph='network', network=network) if network else dict(graph='end_to_end')
    return dict(
        task=task,
        classes=classes,
        palette=[list(map(int, c)) for c in palette[:num_classes]] if palette and len(palette) >= num_classes
        else None,
        resize=dict(scale=list(resize['scale']), keep_ratio=bool(resize.get('keep_ratio', False)))
        if resize else None,
        pad=dict(size=list(pad['size']) if pad.get('size') else None, size_divisor=pad.get('size_divisor'),
                 value=pad_value) if pad else None,
        **extra)


def model_metadata(cfg: Config, model: Any, network: Optional[dict] = None) -> Dict[str, Any]:
    """:func:`deploy_metadata` of an mmdet detector (``bbox_head``) or mmseg segmentor (``decode_head``): its
    task and number of classes read from the model."""
    task = 'detection' if hasattr(model, 'bbox_head') else 'segmentation'
    head = model.bbox_head if task == 'detection' else model.decode_head
    return deploy_metadata(cfg, task, head.num_classes, network)
