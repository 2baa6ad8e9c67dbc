"""The adversarial checkpoint corpus through every loading path on the oldest supported stack (torch 2.0.1,
numpy 1), where ``torch.load`` runs any pickle and hands TorchScript zips to ``torch.jit.load`` before it
consults ``pickle_module`` (the main suite's tests, tests/test_checkpoint_corpus.py)."""
from test_checkpoint_corpus import *  # noqa: F401,F403
