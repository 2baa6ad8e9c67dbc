"""Loading a config for a tool, with clear errors for bad paths and bad ``--cfg-options``."""
import difflib
import inspect
import os.path as osp
from typing import Any, Mapping, Optional

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from mmghost.registry import DOWNSTREAM_PACKAGES

# Top-level keys that mmengine's Runner reads besides its constructor arguments.
RUNNER_CFG_KEYS = ('model_wrapper_cfg', 'find_unused_parameters', 'compile', 'activation_checkpointing',
                   'efficient_conv_bn_eval', 'runner_type')


def load_config(path: str,
                cfg_options: Optional[Mapping[str, Any]] = None,
                work_dir: Optional[str] = None) -> Config:
    """Read a config file and apply ``--cfg-options`` as mmdet's and mmseg's tools do.

    Differences from their ``cfg.merge_from_dict``: a top-level key that neither the config nor mmengine's
    Runner knows is refused (see :func:`check_override_key`), and a key below a ``None`` is accepted, the
    ``None`` becoming a dict (``optim_wrapper.clip_grad.max_norm=35`` where ``clip_grad=None``).

    Args:
        path: The config file.
        cfg_options: ``{'dotted.key': value}`` overrides, as parsed by mmengine's ``DictAction``.
        work_dir: ``--work-dir``. Without it, the config's ``work_dir``, else ``work_dirs/CONFIG_NAME``.

    Returns:
        The merged config.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an override's key is refused by :func:`check_override_key`, or the config is for
            neither mmdet nor mmseg.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg.get('default_scope') not in DOWNSTREAM_PACKAGES:
        raise ValueError(f'{path} sets default_scope={cfg.get("default_scope")!r}; the tools serve '
                         f'configs of {DOWNSTREAM_PACKAGES} (inherit from an mmdet:: or mmseg:: base)')
    if cfg_options:
        tree = cfg.to_dict()
        for key in cfg_options:
            check_override_key(tree, key)
            _replace_none_parents(cfg, key)
        cfg.merge_from_dict(dict(cfg_options))
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg


def check_override_key(cfg: Mapping, key: str) -> None:
    """Raise ``ValueError`` unless ``--cfg-options`` may set ``key`` (``a.b.c``, list items by index).

    As in mmdet's tools, a key below the top level may be new: the module config (a dict with ``type``)
    that receives it rejects an unknown argument when it is built. Refused: a top-level key that is neither
    in the config nor a setting that mmengine's Runner reads (the error names the nearest existing keys),
    a path through a number or string, and a list index out of range.
    """
    parts = key.split('.')
    if parts[0] not in cfg:
        runner_keys = (set(inspect.signature(Runner.__init__).parameters) - {'self'}) | set(RUNNER_CFG_KEYS)
        if parts[0] in runner_keys:
            return
        nearest = difflib.get_close_matches(parts[0], sorted(set(cfg) | runner_keys), n=3, cutoff=0.6)
        raise ValueError(f'--cfg-options key {key!r}: {parts[0]!r} is neither a key of the config nor a '
                         f'setting of mmengine\'s Runner; nearest existing keys: {nearest or "none"}')
    node: Any = cfg[parts[0]]
    for depth, part in enumerate(parts[1:], start=1):
        if node is None or (isinstance(node, Mapping) and part not in node):
            return
        if isinstance(node, Mapping):
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = '.'.join(parts[:depth])
            what = f'a list of {len(node)} items' if isinstance(node, (list, tuple)) else repr(node)
            raise ValueError(f'--cfg-options key {key!r}: {where} is {what}, so it has no {part!r}; set '
                             f'{where} as a whole, e.g. {where}=...')


def _replace_none_parents(cfg: Config, key: str) -> None:
    """Make a ``None`` on the path of ``key`` (a path that :func:`check_override_key` accepted) a dict."""
    node: Any = cfg
    for part in key.split('.')[:-1]:
        if isinstance(node, (list, tuple)):
            node = node[int(part)]
            continue
        if part not in node:
            return
        if node[part] is None:
            node[part] = ConfigDict()
        node = node[part]
