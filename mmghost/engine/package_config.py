"""Config files of the installed mmdet and mmseg, named as in a ``_base_`` line (``mmdet::PATH``)."""
import os.path as osp

from mmengine.config.utils import MODULE2PACKAGE
from mmengine.utils import get_installed_path

from .config import TASK_SCOPES


def resolve_config(path: str) -> str:
    """The file of a config: ``path`` itself, or for ``mmdet::PATH`` / ``mmseg::PATH`` the file of the
    installed package that ``_base_ = 'mmdet::PATH'`` inherits (e.g. a peer model to compare with).

    Args:
        path: A config file path or a package config name.

    Returns:
        The config file path (whether it exists is checked by whoever reads it).

    Raises:
        ValueError: the package before ``::`` is neither mmdet nor mmseg.

    Example:
        >>> resolve_config('mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py')
        '.../site-packages/mmdet/.mim/configs/yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py'
    """
    scope, separator, relative = path.partition('::')
    if not separator:
        return path
    if scope not in TASK_SCOPES:
        raise ValueError(f'config {path!r}: the package before "::" must be one of {TASK_SCOPES}, got {scope!r}')
    return osp.join(get_installed_path(MODULE2PACKAGE[scope]), '.mim', 'configs', relative)
