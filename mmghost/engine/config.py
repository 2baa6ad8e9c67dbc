"""Loading configs for the tools, with clear errors for bad paths and bad ``--cfg-options``."""
import os.path as osp
from typing import Any, Mapping, Optional

from mmengine.config import Config

TASK_SCOPES = ('mmdet', 'mmseg')


def load_config(path: str, cfg_options: Optional[Mapping[str, Any]] = None) -> Config:
    """Read a config file and apply ``--cfg-options``, each of which must name an existing key.

    Args:
        path: The config file.
        cfg_options: ``{'dotted.key': value}`` overrides, as parsed by mmengine's ``DictAction``.

    Returns:
        The merged config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an override names a key that is not in the config, or the config is for neither
            mmdet nor mmseg.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg.get('default_scope') not in TASK_SCOPES:
        raise ValueError(f'{path} sets default_scope={cfg.get("default_scope")!r}; the tools serve '
                         f'configs of {TASK_SCOPES} (inherit from an mmdet:: or mmseg:: base)')
    if cfg_options:
        for key in cfg_options:
            check_override_key(cfg, key)
        cfg.merge_from_dict(dict(cfg_options))
    return cfg


def check_override_key(cfg: Mapping, key: str) -> None:
    """Raise ``ValueError`` unless ``key`` (``a.b.c``, list items by index) exists in ``cfg``.

    A new last key is accepted inside a module config (a dict with ``type``): the module's constructor
    then checks it when it is built.
    """
    node: Any = cfg
    parts = key.split('.')
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif last and isinstance(node, Mapping) and 'type' in node:
            return
        else:
            where = '.'.join(parts[:depth]) or 'the top level'
            raise ValueError(f'--cfg-options key {key!r}: {part!r} does not exist under {where} of the '
                             f'config (check the spelling, or print the config with --cfg-options off)')
