"""Mixed precision without a GPU."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose training forward passes run under CPU autocast (bfloat16 by default).

    ``tools/train.py --amp`` uses it where there is no GPU (mmengine's ``AmpOptimWrapper`` needs one).
    bfloat16 has float32's exponent range, so no loss scaling is needed.

    Args:
        dtype: Autocast dtype name, ``'bfloat16'`` or ``'float16'``. Defaults to ``'bfloat16'``.
        **kwargs: ``OptimWrapper`` arguments.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        super().__init__(**kwargs)
        self.dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.dtype):
            yield
