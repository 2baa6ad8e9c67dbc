"""Opt-in, process-wide safe checkpoint loading, for code that loads checkpoints outside mmengine's Runner.

Importing this module is the opt-in; nothing here happens on ``import mmghost``. mmghost's configs do not
need it (their ``SafeCheckpointLoadingHook`` does the same when the Runner starts); a script that calls
e.g. mmdet's ``init_detector`` or mmengine's ``load_checkpoint`` itself may name it::

    custom_imports = dict(imports=['mmghost', 'mmghost.runtime'], allow_failed_imports=False)

or ``import mmghost.runtime``. It applies :func:`mmghost.utils.enable_safe_checkpoint_loading`: mmengine's
``CheckpointLoader`` reads local files, http(s) URLs, file backends and model-zoo names with mmghost's
loader (TorchScript archives refused, pickles restricted to the checkpoint allow-list, on every torch).
torch's own allow-list is left as it is.
"""
from mmghost.utils.checkpoint import enable_safe_checkpoint_loading

enable_safe_checkpoint_loading()
