"""The compat suite runs on the canonical OpenMMLab stack (.venv-compat, torch 2.1): see README.

It reuses the main suite's timm oracle and tool runner (tests/oracle.py, tests/tools_helpers.py).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tests'))
