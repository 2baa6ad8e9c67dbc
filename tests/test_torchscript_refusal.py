"""TorchScript archives are refused before any loader reads them, on every path and every supported torch.

``torch.load`` hands a TorchScript zip to ``torch.jit.load`` before it consults ``pickle_module`` (torch < 2.6),
and TorchScript's loader runs the archive's own ``__setstate__``. The probe here is a scripted
``__setstate__`` that prints a line: each path must refuse the file naming TorchScript, and the line must
never be printed. A control shows that ``torch.jit.load`` does print it.
"""
import subprocess
import sys
import textwrap
import zipfile

import pytest
import torch

from mmghost.utils import is_torchscript_archive, load_checkpoint_file
from tools_helpers import CHECKPOINT_TOOLS, ROOT, checkpoint_tool_args, run_tool

PROBE_LINE = 'TORCHSCRIPT-SETSTATE-RAN'
CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
SCRIPT = textwrap.dedent(f'''
    from typing import Tuple
    import torch

    class Probe(torch.nn.Module):
        def forward(self, x):
            return x

        @torch.jit.export
        def __getstate__(self) -> Tuple[bool, int]:
            return (self.training, 0)

        @torch.jit.export
        def __setstate__(self, state: Tuple[bool, int]) -> None:
            self.training = state[0]
            print({PROBE_LINE!r})
''')


def run_python(code: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def archives(tmp_path_factory):
    """A scripted module saved under an official checkpoint's name, and a normal checkpoint zip with a
    ``code/`` folder added; the control shows that torch's own loader runs the first one's code."""
    folder = tmp_path_factory.mktemp('torchscript')
    scripted = folder / 'ck_ghostnetv2_10.pth.tar'
    maker = folder / 'make_probe.py'  # TorchScript compiles from the source file, so not from ``-c``
    maker.write_text(SCRIPT + f'torch.jit.save(torch.jit.script(Probe()), {str(scripted)!r})\n')
    made = subprocess.run([sys.executable, str(maker)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    control = run_python(f'import torch\ntorch.jit.load({str(scripted)!r})\n')
    assert control.returncode == 0 and PROBE_LINE in control.stdout, 'the probe must run under torch.jit.load'
    with_code = folder / 'with_code.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}}, with_code)
    with zipfile.ZipFile(with_code, 'a') as archive:
        top = archive.namelist()[0].split('/')[0]
        archive.writestr(f'{top}/code/__torch__/probe.py', 'def f(): pass\n')
    return dict(scripted=scripted, with_code=with_code)


def test_archives_are_recognised_and_a_plain_checkpoint_is_not(archives, tmp_path):
    plain = tmp_path / 'plain.pth'
    torch.save({'w': torch.zeros(1)}, plain)
    assert is_torchscript_archive(str(archives['scripted'])) and is_torchscript_archive(str(archives['with_code']))
    assert not is_torchscript_archive(str(plain))
    with open(archives['scripted'], 'rb') as f:
        assert is_torchscript_archive(f) and f.tell() == 0


@pytest.mark.parametrize('kind', ['scripted', 'with_code'])
def test_load_checkpoint_file_refuses_naming_torchscript(archives, kind):
    with pytest.raises(ValueError, match='TorchScript archive'):
        load_checkpoint_file(str(archives[kind]))


@pytest.mark.parametrize('kind', ['scripted', 'with_code'])
def test_no_library_path_runs_the_archive(archives, kind):
    """In a fresh process: mmghost's loader, ``init_cfg`` Pretrained, and mmengine's own loaders once
    ``enable_safe_checkpoint_loading`` (the configs' SafeCheckpointLoadingHook, ``mmghost.runtime``) ran."""
    path = str(archives[kind])
    code = textwrap.dedent(f'''
        import mmghost
        from mmengine.runner import CheckpointLoader
        from mmengine.runner.checkpoint import _load_checkpoint
        from mmghost.utils import enable_safe_checkpoint_loading, load_checkpoint_file
        enable_safe_checkpoint_loading()
        calls = [lambda: load_checkpoint_file({path!r}),
                 lambda: mmghost.GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint={path!r})).init_weights(),
                 lambda: _load_checkpoint({path!r}),
                 lambda: CheckpointLoader.load_checkpoint({path!r})]
        for call in calls:
            try:
                call()
            except ValueError as error:
                assert 'TorchScript archive' in str(error), error
                print('refused')
    ''')
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines().count('refused') == 4 and PROBE_LINE not in result.stdout  # mmengine logs too


@pytest.mark.parametrize('tool', CHECKPOINT_TOOLS)
def test_the_tools_refuse_the_archive(archives, tmp_path, tool):
    result = run_tool(checkpoint_tool_args(tool, CONFIG, archives['scripted']), tmp_path, check=False)
    assert result.returncode != 0 and 'TorchScript archive' in result.stderr, result.stderr[-3000:]
    assert PROBE_LINE not in result.stdout + result.stderr
