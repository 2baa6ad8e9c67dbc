"""Fake installed stacks and fake wheels for dry runs of pip's resolver (tests/test_install_requirements.py).

A stack is a venv made without pip whose site-packages holds only ``NAME-VERSION.dist-info`` folders: pip
reads them as installed distributions, nothing can be imported from them. pip runs from the test's own
interpreter and resolves for the stack with ``--python`` (pip >= 22.3), offline (``--no-index`` plus
``--find-links`` a folder of fake wheels) and without any pip configuration of this machine.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIP_TIMEOUT_S = 300


def pip_version() -> Tuple[int, ...]:
    import pip
    return tuple(int(part) for part in re.findall(r'\d+', pip.__version__)[:2])


def isolated_env() -> Dict[str, str]:
    """os.environ without pip's settings (PIP_FIND_LINKS, ...), its config files or a PYTHONPATH."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('PIP_') and key not in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONUSERBASE')}
    env['PIP_CONFIG_FILE'] = os.devnull  # pip reads no configuration file at all
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    env['PIP_NO_INPUT'] = '1'
    return env


def run_pip(args: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'pip', *args], env=isolated_env(), capture_output=True,
                          text=True, timeout=PIP_TIMEOUT_S)


def _metadata(name: str, version: str, requires: Iterable[str] = (), extras: Iterable[str] = ()) -> str:
    lines = ['Metadata-Version: 2.1', f'Name: {name}', f'Version: {version}']
    lines += [f'Provides-Extra: {extra}' for extra in extras]
    lines += [f'Requires-Dist: {requirement}' for requirement in requires]
    return '\n'.join(lines) + '\n'


def _dist_info_name(name: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"


def make_wheel(folder: Path, name: str, version: str, requires: Iterable[str] = (),
               extras: Iterable[str] = ()) -> Path:
    """A wheel of nothing but metadata, ``requires`` as its Requires-Dist."""
    dist_info = _dist_info_name(name, version)
    files = {
        f'{dist_info}/METADATA': _metadata(name, version, requires, extras),
        f'{dist_info}/WHEEL': 'Wheel-Version: 1.0\nGenerator: fake\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    }
    record = ''.join(f'{path},,\n' for path in files) + f'{dist_info}/RECORD,,\n'
    path = folder / f"{re.sub(r'[-_.]+', '_', name)}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, 'w') as archive:
        for member, text in {**files, f'{dist_info}/RECORD': record}.items():
            # a fixed timestamp keeps the archive the same from run to run
            archive.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return path


def make_stack(folder: Path, installed: Dict[str, str]) -> Path:
    """A venv without pip that holds ``installed`` ({name: version}) as metadata only; returns its python."""
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(folder)], check=True,
                   capture_output=True, timeout=120)
    python = folder / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    site_packages = Path(subprocess.run(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], check=True,
        capture_output=True, text=True, timeout=120, env=isolated_env()).stdout.strip())
    for name, version in installed.items():
        dist_info = site_packages / _dist_info_name(name, version)
        dist_info.mkdir(parents=True)
        (dist_info / 'METADATA').write_text(_metadata(name, version))
        (dist_info / 'INSTALLER').write_text('fake\n')
        (dist_info / 'RECORD').write_text(''.join(
            f'{dist_info.name}/{file},,\n' for file in ('METADATA', 'INSTALLER', 'RECORD')))
    return python


def build_mmghost_wheel(folder: Path) -> Path:
    """The wheel pip builds from this checkout's setup.py (built from a copy, so nothing lands in the tree)."""
    source = folder / 'source'
    source.mkdir()
    for name in ('setup.py', 'setup.cfg', 'pyproject.toml', 'MANIFEST.in', 'README.md'):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / 'mmghost', source / 'mmghost', ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    out = folder / 'wheel'
    result = run_pip(['wheel', '--no-deps', '--no-build-isolation', '--no-index', '--no-cache-dir',
                      '--use-pep517', '-w', str(out), str(source)])
    wheels = sorted(out.glob('mmghost-*.whl'))
    assert result.returncode == 0 and len(wheels) == 1, (
        f'pip wheel of setup.py failed (rc {result.returncode}):\n'
        f'{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return wheels[0]


def wheel_requires(wheel: Path) -> List[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [name for name in archive.namelist() if re.fullmatch(r'[^/]+\.dist-info/METADATA', name)]
        text = archive.read(metadata).decode()
    return [line.split(':', 1)[1].strip() for line in text.splitlines() if line.startswith('Requires-Dist:')]


def dry_run(python: Path, requirement: str, find_links: Path, report: Path) -> List[Tuple[str, str]]:
    """(name, version) of every distribution ``pip install requirement`` would install into the stack."""
    result = run_pip(['--python', str(python), 'install', '--dry-run', '--report', str(report), '--no-index',
                      '--find-links', str(find_links), '--no-cache-dir', requirement])
    assert result.returncode == 0, (
        f'pip could not resolve {requirement} for {python.parent.parent.name} (rc {result.returncode}):\n'
        f'{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    planned = json.loads(report.read_text())['install']
    return sorted((canonicalize_name(item['metadata']['name']), item['metadata']['version']) for item in planned)
