"""The adversarial checkpoint corpus on the oldest supported stack, where ``torch.load`` would run any pickle
(the main suite's tests, tests/test_checkpoint_corpus.py)."""
from test_checkpoint_corpus import *  # noqa: F401,F403
