"""Mixed precision without a GPU."""
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from .tiny_conv_precision import full_precision_tiny_convs
from ..scope import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(AmpOptimWrapper):
    """``AmpOptimWrapper`` for CPU: training forward passes run under CPU autocast (bfloat16 by default).

    It is mixed-precision training where there is no GPU (mmengine's ``AmpOptimWrapper`` refuses to start
    without one). bfloat16 has float32's exponent range, so its loss scaler is disabled; with ``'float16'``
    the loss is scaled exactly as ``AmpOptimWrapper`` does on a GPU (``torch.amp.GradScaler`` on CPU), which
    makes fp16 training of a model checkable on a CPU-only machine. Backward, step, clipping and the
    ``loss_scaler`` entry of the checkpoint are ``AmpOptimWrapper``'s. Convolutions whose input is smaller
    than their kernel run in float32 (:func:`~mmghost.engine.autocast.full_precision_tiny_convs`): oneDNN's
    native bf16 kernels compute wrong weight gradients for some of them.

    Args:
        dtype: Autocast dtype name, ``'bfloat16'`` or ``'float16'``. Defaults to ``'bfloat16'``.
        loss_scale: float16 only: ``'dynamic'``, a static scale (float) or ``GradScaler`` keyword arguments
            (dict), as in ``AmpOptimWrapper``. Defaults to ``'dynamic'``.
        **kwargs: ``OptimWrapper`` arguments.
    """

    def __init__(self, dtype: str = 'bfloat16', loss_scale: Union[str, float, dict] = 'dynamic', **kwargs) -> None:
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        if not (loss_scale == 'dynamic' or isinstance(loss_scale, (float, dict))):
            raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got {loss_scale!r}")
        OptimWrapper.__init__(self, **kwargs)  # AmpOptimWrapper.__init__ asserts a GPU and builds a CUDA scaler
        self.cast_dtype = getattr(torch, dtype)
        self._scale_update_param = loss_scale if isinstance(loss_scale, float) else None
        scaler_kwargs = loss_scale if isinstance(loss_scale, dict) else {}
        if isinstance(loss_scale, float):
            scaler_kwargs = dict(init_scale=loss_scale)
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=dtype == 'float16', **scaler_kwargs)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient accumulation as ``OptimWrapper``; CPU autocast, with convs on tiny maps in float32."""
        with OptimWrapper.optim_context(self, model), torch.autocast('cpu', dtype=self.cast_dtype), \
                full_precision_tiny_convs(model):
            yield
