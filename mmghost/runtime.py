"""Opt-in runtime fixes for running mmghost configs with mmdet's or mmseg's own tools.

Importing this module is the opt-in; nothing here happens on ``import mmghost``. Name it in the config::

    custom_imports = dict(imports=['mmghost', 'mmghost.runtime'], allow_failed_imports=False)

What it does, for the whole process:

- torch >= 2.6: adds :func:`mmghost.utils.checkpoint_safe_globals` to torch's ``weights_only``
  allow-list, so that mmengine 0.10.7 can load its own checkpoints (``--resume``, ``load_from``, testing)
  with torch's safe unpickler. ``builtins.getattr`` in a checkpoint resolves to
  :func:`mmghost.utils.checkpoint.history_buffer_getattr`, never to Python's ``getattr``.
- torch < 2.6 (where ``torch.load`` runs any pickle): mmengine's ``CheckpointLoader`` reads local and
  http(s) files (and the model-zoo names that resolve to them) through mmghost's restricted unpickler,
  which builds only the same allow-list.

Atomic checkpoint files come from the configs (``default_hooks.checkpoint.type =
'mmghost.AtomicCheckpointHook'``), not from here; the CPU-only adaptations of
:func:`mmghost.engine.setup_runtime` (gloo, SyncBN -> BN) need the config and are made by the project's
tools only. Those tools apply the loading fix themselves, around training and testing only.
"""
from mmghost.utils.checkpoint import allow_checkpoint_globals, use_safe_mmengine_loaders

allow_checkpoint_globals()
use_safe_mmengine_loaders()
