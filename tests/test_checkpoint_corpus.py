"""An adversarial corpus of checkpoint files, made here, through mmghost's loader with both of its safe
unpicklers, through ``init_cfg`` Pretrained (path and URL) and through mmengine's loaders as mmghost routes
them: every file is refused with a ``ValueError`` naming it, or loaded as plain data, and the probe
(a marker file the payload would create) never appears. Each gadget is first shown to be live under plain
pickle, so a test cannot pass because its payload was broken. TorchScript archives:
tests/test_torchscript_refusal.py; the tools' paths with getattr payloads: tests/test_checkpoint_loading.py.
"""
import io
import json
import pickle
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import numpy as np
import pytest
import torch

from mmghost.utils import load_checkpoint_file
from test_checkpoint_loading import served, unpickler  # noqa: F401  (http server; both safe unpicklers)
from tools_helpers import CHECKPOINT_TOOLS, ROOT, checkpoint_tool_args, run_tool


def gadget(marker) -> bytes:
    """``os.system('touch MARKER')`` as a protocol-0 pickle body (no STOP)."""
    return f"cposix\nsystem\n(S'touch {marker}'\ntR".encode()


def opcode_streams(marker) -> dict:
    """The same call reached through each opcode that can call: REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD."""
    command = f'touch {marker}'
    popen_args = f"csubprocess\nPopen\n(S'sh'\nS'-c'\nS'{command}'\nl".encode()  # Popen, then its args list
    return {
        'REDUCE': gadget(marker) + b'.',
        'INST': f"(S'{command}'\niposix\nsystem\n.".encode(),
        'OBJ': f"(cposix\nsystem\nS'{command}'\no.".encode(),
        # NEWOBJ(_EX) call cls.__new__(cls, *args): the class is a callable reached through GLOBAL
        'NEWOBJ': b'\x80\x02' + popen_args + b'\x85\x81.',
        'NEWOBJ_EX': b'\x80\x04' + popen_args + b'\x85}\x92.',
        # BUILD sets state; a __setstate__ reached through GLOBAL would be called with it
        'BUILD': f"cposix\nsystem\n(S'{command}'\ntR(dS'x'\nI1\nsb.".encode(),
    }


class Gadget:
    """Pickles (at any protocol) as ``os.system(command)``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command, )


def run_plain(code: str) -> None:
    subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, timeout=120)


def as_torch_zip(path, body: bytes) -> None:
    """A torch zip checkpoint whose ``data.pkl`` is ``body``."""
    torch.save({'w': 1}, path)
    with zipfile.ZipFile(path) as source:
        records = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, 'w') as target:
        for name, data in records.items():
            target.writestr(name, body if name.endswith('/data.pkl') else data)


def assert_refused(path, marker) -> None:
    with pytest.raises(ValueError, match=str(path.name)):
        load_checkpoint_file(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('opcode', list(opcode_streams('m')))
def test_every_calling_opcode_is_refused(opcode, unpickler, tmp_path):
    marker = tmp_path / 'pwned'
    body = opcode_streams(marker)[opcode]
    if opcode.startswith('NEWOBJ'):  # cls.__new__ alone runs nothing here: plain pickle builds the object
        assert type(pickle.loads(body)).__name__ == 'Popen', f'plain pickle must build the {opcode} object'
    else:
        run_plain(f'import pickle; pickle.loads({body!r})')
        assert marker.exists(), f'the {opcode} payload must run under plain pickle'
        marker.unlink()
    for kind, write in (('raw', lambda p: p.write_bytes(body)), ('zip', lambda p: as_torch_zip(p, body))):
        path = tmp_path / f'{opcode}-{kind}.pth'
        write(path)
        assert_refused(path, marker)


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_gadget_is_refused_at_every_protocol(protocol, legacy, unpickler, tmp_path):
    marker = tmp_path / 'pwned'
    # protocol 0 writes persistent ids as strings, which torch cannot read back: no tensor there
    obj = {'state_dict': {'w': torch.zeros(2) if protocol else 0.0}, 'meta': Gadget(f'touch {marker}')}
    path = tmp_path / f'p{protocol}.pth'
    torch.save(obj, path, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
    run_plain(f'import torch; torch.load({str(path)!r}, weights_only=False)')
    assert marker.exists(), 'the payload must run under plain torch.load'
    marker.unlink()
    assert_refused(path, marker)


def test_legacy_tar_file_with_a_gadget_is_refused(unpickler, tmp_path):
    """The oldest torch format: a tar of ``storages``, ``tensors`` and ``pickle`` members, each a pickle."""
    marker, path = tmp_path / 'pwned', tmp_path / 'old.tar'
    with tarfile.open(path, 'w') as archive:
        for name in ('storages', 'tensors', 'pickle'):
            data = gadget(marker) + b'.'
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert_refused(path, marker)


def test_numpy_object_arrays_load_as_plain_data_or_are_refused(unpickler, tmp_path):
    marker = tmp_path / 'pwned'
    plain = np.array([1, 'two', 3.0], dtype=object)
    path = tmp_path / 'object_array.pth'
    torch.save({'meta': {'values': plain}}, path)
    try:
        loaded = load_checkpoint_file(str(path))['meta']['values']
        assert loaded.dtype == object and loaded.tolist() == [1, 'two', 3.0]
    except ValueError as error:
        assert path.name in str(error)
    holding = np.array([Gadget(f'touch {marker}'), 1], dtype=object)
    bad = tmp_path / 'object_array_gadget.pth'
    torch.save({'meta': {'values': holding}}, bad)
    assert_refused(bad, marker)


def safetensors_file(path, header: bytes, payload: bytes = b'') -> None:
    path.write_bytes(struct.pack('<Q', len(header)) + header + payload)


@pytest.mark.parametrize('case', ['length past the end', 'not JSON', 'JSON list', 'offsets out of range'])
def test_malformed_safetensors_is_a_value_error_naming_the_file(case, tmp_path):
    path = tmp_path / 'model.safetensors'
    tensor = json.dumps({'w': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}).encode()
    if case == 'length past the end':
        path.write_bytes(struct.pack('<Q', 10 ** 9) + b'{}')
    elif case == 'not JSON':
        safetensors_file(path, b'{"w": oops')
    elif case == 'JSON list':
        safetensors_file(path, b'[1, 2, 3]')
    else:
        safetensors_file(path, tensor, b'\0' * 8)  # 16 bytes declared, 8 present
    with pytest.raises(ValueError, match='model.safetensors'):
        load_checkpoint_file(str(path))


def test_truncated_zip_is_a_value_error(unpickler, tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save({'w': torch.randn(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='epoch_1.pth'):
        load_checkpoint_file(str(path))


def test_zip_whose_pickle_names_missing_storages_is_a_value_error(unpickler, tmp_path):
    path = tmp_path / 'missing.pth'
    torch.save({'w': torch.randn(10), 'v': torch.randn(10)}, path)
    with zipfile.ZipFile(path) as source:
        records = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, 'w') as target:
        for name, data in records.items():
            if '/data/' not in name:  # drop every storage record
                target.writestr(name, data)
    with pytest.raises(ValueError, match='missing.pth'):
        load_checkpoint_file(str(path))


def corpus(folder) -> dict:
    """One file of each refused kind, all with the same probe marker ``folder/pwned``."""
    marker = folder / 'pwned'
    files = {}
    for opcode, body in opcode_streams(marker).items():
        files[f'{opcode}.pth'] = folder / f'{opcode}.pth'
        as_torch_zip(files[f'{opcode}.pth'], body)
    files['legacy.pth'] = folder / 'legacy.pth'
    torch.save({'meta': Gadget(f'touch {marker}')}, files['legacy.pth'], _use_new_zipfile_serialization=False)
    files['plain.pkl'] = folder / 'plain.pkl'
    files['plain.pkl'].write_bytes(gadget(marker) + b'.')
    files['object_array.pth'] = folder / 'object_array.pth'
    torch.save({'meta': np.array([Gadget(f'touch {marker}')], dtype=object)}, files['object_array.pth'])
    files['truncated.pth'] = folder / 'truncated.pth'
    torch.save({'w': torch.randn(1000)}, files['truncated.pth'])
    files['truncated.pth'].write_bytes(files['truncated.pth'].read_bytes()[:2000])
    files['bad.safetensors'] = folder / 'bad.safetensors'
    safetensors_file(files['bad.safetensors'], b'[1, 2]')
    return files


def test_pretrained_init_refuses_every_file_by_path_and_url(served):
    from mmghost.models import GhostNetV2
    root, url = served  # test_checkpoint_loading's local http server of root
    files, marker = corpus(root), root / 'pwned'
    for name, path in files.items():
        for checkpoint in (str(path), f'{url}/{name}'):
            with pytest.raises(ValueError, match=name):
                GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)).init_weights()
    assert not marker.exists()


def test_mmengine_loaders_refuse_every_file_once_enabled(tmp_path):
    """mmengine's own loading (mmdet's and mmseg's tools) after the configs' SafeCheckpointLoadingHook or
    ``mmghost.runtime``, in a fresh process."""
    files, marker = corpus(tmp_path), tmp_path / 'pwned'
    code = textwrap.dedent(f'''
        from mmengine.runner import CheckpointLoader
        from mmengine.runner.checkpoint import _load_checkpoint
        import mmghost.runtime  # enable_safe_checkpoint_loading, as SafeCheckpointLoadingHook does
        for path in {[str(p) for p in files.values()]!r}:
            for load in (_load_checkpoint, CheckpointLoader.load_checkpoint):
                try:
                    load(path)
                except ValueError:
                    print('refused')
    ''')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines().count('refused') == 2 * len(files)
    assert not marker.exists()


@pytest.mark.parametrize('tool', CHECKPOINT_TOOLS)
def test_the_tools_refuse_a_legacy_gadget_file(tmp_path, tool):
    files, marker = corpus(tmp_path), tmp_path / 'pwned'
    config = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
    result = run_tool(checkpoint_tool_args(tool, config, files['legacy.pth']), tmp_path, check=False)
    assert result.returncode != 0 and 'refusing to load' in result.stderr, result.stderr[-3000:]
    assert not marker.exists()
