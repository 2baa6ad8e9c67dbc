"""``import mmghost`` in a fresh process where only mmdet, or only mmseg, can be imported."""
import re
import subprocess
import sys
import textwrap
from typing import Sequence

import pytest

BLOCK = '''
import sys

class Blocker:
    """Makes the packages named in BLOCKED unimportable, as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
        return None

sys.meta_path.insert(0, Blocker())
'''


def run_python(code: str, blocked: Sequence[str]) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which the packages ``blocked`` cannot be imported."""
    source = f'BLOCKED = {tuple(blocked)!r}\n{BLOCK}\n{textwrap.dedent(code)}'
    return subprocess.run([sys.executable, '-c', source], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize('present,absent', [('mmdet', 'mmseg'), ('mmseg', 'mmdet')])
def test_import_registers_into_the_installed_package_only(present, absent):
    result = run_python(f'''
        import torch
        import mmghost
        assert {absent!r} not in sys.modules
        from mmengine.registry import init_default_scope
        from {present}.registry import MODELS
        init_default_scope({present!r})
        backbone = MODELS.build(dict(type='GhostNetV2', out_indices=(4, 6, 9))).eval()
        with torch.no_grad():
            outputs = backbone(torch.randn(1, 3, 64, 96))
        print('shapes', [tuple(o.shape) for o in outputs])
    ''', blocked=[absent])
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'shapes [(1, 40, 8, 12), (1, 112, 4, 6), (1, 960, 2, 3)]' in result.stdout


def test_import_without_mmdet_and_mmseg_fails_naming_both():
    result = run_python('import mmghost', blocked=['mmdet', 'mmseg'])
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert re.match(r'(ImportError|ModuleNotFoundError): ', error), result.stderr[-2000:]
    assert 'mmdet' in error and 'mmseg' in error, error


def test_blocker_really_hides_the_package():
    result = run_python('import mmseg', blocked=['mmseg'])
    assert result.returncode != 0 and "No module named 'mmseg'" in result.stderr
