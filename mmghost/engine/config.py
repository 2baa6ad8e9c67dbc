"""Loading configs for the tools, with clear errors for bad paths and bad ``--cfg-options``."""
import inspect
import os.path as osp
from typing import Any, Mapping, Optional

from mmengine.config import Config
from mmengine.runner import Runner

TASK_SCOPES = ('mmdet', 'mmseg')
# Top-level keys that mmengine's Runner reads besides its constructor arguments.
RUNNER_CFG_KEYS = ('model_wrapper_cfg', 'find_unused_parameters', 'compile', 'activation_checkpointing',
                   'efficient_conv_bn_eval')


def load_config(path: str,
                cfg_options: Optional[Mapping[str, Any]] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read a config file and apply ``--cfg-options``, each of which must name an existing key.

    Args:
        path: The config file.
        cfg_options: ``{'dotted.key': value}`` overrides, as parsed by mmengine's ``DictAction``.
        work_dir: ``--work-dir``. Without it, the config's ``work_dir``, else ``work_dirs/CONFIG_NAME``.

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
        tree = cfg.to_dict()
        for key in cfg_options:
            check_override_key(tree, key)
        cfg.merge_from_dict(dict(cfg_options))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def check_override_key(cfg: Mapping, key: str) -> None:
    """Raise ``ValueError`` unless ``key`` (``a.b.c``, list items by index) exists in ``cfg``.

    A new key is accepted only where something checks or reads it: inside a module config (a dict with
    ``type``), whose constructor rejects unknown arguments when it is built, and at the top level for the
    settings that mmengine's Runner reads (``custom_hooks``, ``randomness``, ...).
    """
    node: Any = cfg
    parts = key.split('.')
    runner_keys = set(inspect.signature(Runner.__init__).parameters) | set(RUNNER_CFG_KEYS)
    if parts[0] not in cfg and parts[0] in runner_keys:
        return
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
                             f'config; check the spelling against the config')
