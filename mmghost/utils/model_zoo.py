"""Model-zoo names (``open-mmlab://``, ``torchvision://``, ``mmcls://``) resolved with mmengine's own tables,
so that the file they name is loaded by mmghost's loader, not by mmengine's."""
import os.path as osp
from typing import Optional, Tuple

import mmengine.runner.checkpoint as mmengine_checkpoint

from mmghost.compat import mmengine_home

# scheme -> the mmengine function that returns its table of model name -> URL
MODEL_ZOO_TABLES = {
    'open-mmlab://': 'get_external_models',
    'openmmlab://': 'get_external_models',
    'torchvision://': 'get_torchvision_models',
    'modelzoo://': 'get_torchvision_models',  # mmengine's deprecated spelling of torchvision://
    'mmcls://': 'get_mmcls_models',
}


def model_zoo_scheme(name: str) -> Optional[str]:
    """The scheme of :data:`MODEL_ZOO_TABLES` that ``name`` starts with, or None."""
    return next((prefix for prefix in MODEL_ZOO_TABLES if name.startswith(prefix)), None)


def resolve_model_zoo_name(name: str) -> Tuple[str, bool]:
    """The URL or local file that a model-zoo name stands for, as mmengine's loaders resolve it.

    Args:
        name: E.g. ``'open-mmlab://msra/hrnetv2_w32'`` or ``'torchvision://resnet50'``.

    Returns:
        ``(location, is_mmcls)``: an http(s) URL, or a path in mmengine's home for table entries that are
        relative paths; ``is_mmcls`` says that only the backbone's weights are to be kept (``mmcls://``).

    Raises:
        ValueError: ``name`` has no model-zoo scheme, or its table has no such model.
    """
    scheme = model_zoo_scheme(name)
    if scheme is None:
        raise ValueError(f'{name!r} is not a model-zoo name: expected one of the schemes {sorted(MODEL_ZOO_TABLES)}')
    model = name[len(scheme):]
    if MODEL_ZOO_TABLES[scheme] == 'get_external_models':
        model = mmengine_checkpoint.get_deprecated_model_names().get(model, model)
    table = getattr(mmengine_checkpoint, MODEL_ZOO_TABLES[scheme])()
    if model not in table:
        raise ValueError(f'{name!r}: mmengine\'s model zoo has no model {model!r} under {scheme} '
                         f'({len(table)} names, e.g. {sorted(table)[:3]})')
    url = table[model]
    if not url.startswith(('http://', 'https://')):
        url = osp.join(mmengine_home(), url)
    return url, scheme == 'mmcls://'
