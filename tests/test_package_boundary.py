"""What the installed package holds: no command-line or repository knowledge, no clashing file names, and
optional dependencies that stay optional (BN folding without onnx)."""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_import_hygiene import BLOCKER
from tools_helpers import ROOT

PACKAGE = ROOT / 'mmghost'
# a command-line flag (--resume), a path of this repository (tools/..., docs/..., configs/...), a make target
TOOL_KNOWLEDGE = re.compile(r'(?<![\w.-])--[a-z][\w-]*|(?<![\w./])(?:tools|docs|configs)/|\bmake (?:bench|demo|test)')
SHARED_NAMES = {'__init__.py', '__main__.py'}


def package_modules():
    return sorted(PACKAGE.rglob('*.py'))


@pytest.mark.parametrize('path', package_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_package_module_names_no_flag_repository_path_or_doc(path):
    found = [f'{path.name}:{number}: {line.strip()}' for number, line in enumerate(path.read_text().splitlines(), 1)
             if TOOL_KNOWLEDGE.search(line)]
    assert found == []


def test_the_boundary_check_finds_what_it_looks_for():
    for line in ('``tools/train.py --amp`` uses it', 'see docs/reliability.md', 'configs/demo/x.py',
                 'so that --resume works', '``make bench`` measures it'):
        assert TOOL_KNOWLEDGE.search(line), line
    for line in ('site-packages/mmdet/.mim/configs/yolo/x.py', 'x = a--b', 'mmdet and mmseg tools'):
        assert not TOOL_KNOWLEDGE.search(line), line


def test_no_two_files_of_package_and_tools_share_a_name():
    files = [*PACKAGE.rglob('*.py'), *(ROOT / 'tools').rglob('*.py')]
    names = {}
    for path in files:
        if path.name not in SHARED_NAMES:
            names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}


def test_bn_folding_and_the_fuse_hook_work_without_onnx():
    """With onnx and onnxruntime unimportable: ``mmghost.deploy`` imports, ``fuse_model`` folds every BN, and
    ``FuseConvBNHook`` (``tools/test.py --fuse-conv-bn``) folds the runner's model with the same outputs."""
    code = 'BLOCKED = ["onnx", "onnxruntime"]\n' + BLOCKER + textwrap.dedent('''
        import types
        import torch
        import mmghost
        from mmghost.deploy import fuse_model
        from mmghost.engine import FuseConvBNHook
        torch.manual_seed(0)
        model = mmghost.GhostNetV2(out_indices=(4, 9)).eval()
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1); module.running_var.uniform_(0.5, 2)
        images = torch.randn(1, 3, 64, 80)
        with torch.no_grad():
            expected = model(images)
            runner = types.SimpleNamespace(model=model, logger=types.SimpleNamespace(info=print))
            FuseConvBNHook().before_test(runner)
            actual = model(images)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        assert all(torch.allclose(a, e, rtol=1e-4, atol=1e-4) for a, e in zip(actual, expected))
        assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules
        fuse_model(mmghost.GhostNetV2().eval())
        print('ok')
    ''')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'ok'


def test_the_blocker_really_blocks_onnx():
    code = 'BLOCKED = ["onnx"]\n' + BLOCKER + 'import onnx\n'
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and 'blocked' in result.stderr
