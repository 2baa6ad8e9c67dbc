"""The compat suite runs on the low end of the declared ranges (.venv-compat, torch 2.0.1): see README.

It reuses the main suite's timm oracle and tool runner (tests/oracle.py, tests/tools_helpers.py).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / 'tests'), str(ROOT / 'tools')]
