"""TorchScript archives are refused on the oldest supported stack too, where ``torch.load`` would hand them
to ``torch.jit.load`` (the main suite's tests, tests/test_torchscript_refusal.py)."""
from test_torchscript_refusal import *  # noqa: F401,F403
