"""mmghost.compat's private APIs and their fallbacks on the oldest supported stack (the main suite's tests,
tests/test_compat_module.py)."""
from test_compat_module import *  # noqa: F401,F403
