"""Running the command-line tools the way a user does, in a scratch directory."""
import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
# the lines of a failed tool's stderr that say why: exceptions, signals, torchrun's failure summary
ERROR_LINE = re.compile(r'Error|Exception|Traceback|exitcode|Signal|terminate called|Aborted|Killed')


def run_tool(args: Sequence[str], cwd: Path, timeout: int = 600, env: Optional[Dict[str, str]] = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` (or ``bash ARGS`` for ``.sh``) in ``cwd``; fail with its output if it fails."""
    command = ['bash' if str(args[0]).endswith('.sh') else sys.executable, *map(str, args)]
    full_env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1', **(env or {}))
    result = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        # the lines that say why first: a long log may be cut by whoever shows the failure
        errors = [line for line in result.stderr.splitlines() if ERROR_LINE.search(line)][-20:]
        raise AssertionError(f'{command} exited {result.returncode}\n' + '\n'.join(errors) +
                             f'\n--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}')
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def load_script(path: Path) -> ModuleType:
    """Import a script that is not in a package (a tool, a demo) as a module, without running its main."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def import_tool(name: str) -> ModuleType:
    """Import a module of a tool that is a package run as ``python -m`` from the repository root.

    Args:
        name: The module's dotted name, e.g. ``'tools.analysis_tools.benchmark.cli'``.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(name)


CHECKPOINT_TOOLS = ('test', 'resume', 'load_from')  # the three ways the tools take a checkpoint file


def checkpoint_tool_args(tool: str, config: Path, checkpoint: Path) -> list:
    """The tool command (without python) that reads ``checkpoint`` in one of :data:`CHECKPOINT_TOOLS`:
    ``tools/test.py CONFIG CKPT``, ``tools/train.py CONFIG --resume CKPT`` or ``... load_from=CKPT``."""
    train, test = ROOT / 'tools' / 'train.py', ROOT / 'tools' / 'test.py'
    return dict(test=[test, config, checkpoint], resume=[train, config, '--resume', checkpoint],
                load_from=[train, config, '--cfg-options', f'load_from={checkpoint}'])[tool]
