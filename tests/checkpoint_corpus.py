"""The adversarial checkpoint corpus: files made here, each carrying a probe, and the control that shows
every probe live.

Each file's probe is a marker file that its payload creates (``os.system('touch ...')``, ``builtins.open``,
``exec`` reached through ``getattr``, a class whose ``__new__`` or ``__setstate__`` writes it), a scripted
``__setstate__`` that prints :data:`PROBE_LINE` (TorchScript), an attribute set on the allow-listed
``collections.Counter`` class, or a numpy array at odds with its dtype (an array whose bytes numpy would read
as pointers, or past their end). :func:`build_corpus` writes the files and first shows, in a throwaway
process, that plain ``torch.load(weights_only=False)`` (which hands TorchScript to ``torch.jit.load``) does
produce each probe's effect, so that no test can pass because its probe was broken. The tests that run the
files through every loading path are in test_checkpoint_corpus.py; :func:`mmengine_checkpoint` is the
well-formed checkpoint that loading must keep accepting.
"""
import codecs
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import textwrap
import types
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Callable, Dict

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MessageHub

from mmghost.engine import get_rng_states
from tools_helpers import ROOT

def mmengine_checkpoint() -> dict:
    """What mmengine's Runner saves: weights, optimizer and scheduler states, message hub, meta, rng states."""
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2])
    hub = MessageHub.get_instance('mmghost-test-checkpoint')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('iter', np.int64(7))
    return dict(meta=dict(epoch=1, seed=np.int64(0), dataset_meta=dict(classes=('a', 'b'))),
                state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                param_schedulers=[scheduler.state_dict()], message_hub=hub.state_dict(),
                rng_states=[get_rng_states()])


# Crafting malicious pickles: objects whose pickled form calls getattr, and raw GLOBAL opcodes.
class RawGlobal:
    """Pickled as the bare ``GLOBAL module name`` opcode (e.g. ``posixpath.os``, the os module)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class GetAttr:
    """Unpickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name: str):
        self.obj, self.name = obj, name

    def __call__(self):  # pickle only reduces to callables
        raise AssertionError('never called while pickling')

    def __reduce__(self):
        return getattr, (self.obj, self.name)


class Call(GetAttr):
    """Unpickles as ``func(*args)``."""

    def __reduce__(self):
        return self.obj, self.name


class CraftingPickler(pickle._Pickler):

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, RawGlobal):
            self.write(pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode())
        else:
            super().save(obj, save_persistent_id)


CRAFTING = types.SimpleNamespace(Pickler=CraftingPickler, __name__='crafting')


def payloads(marker: str) -> dict:
    """Pickled objects that create ``marker`` when unpickled by plain pickle, each through getattr."""
    code = f'open({marker!r}, "w").close()'
    history_builtins = Call(GetAttr(GetAttr(GetAttr(HistoryBuffer, '__init__'), '__globals__'), 'get'),
                            ('__builtins__', ))
    return {
        'getattr(builtins, "exec")': Call(GetAttr(RawGlobal('codecs', 'builtins'), 'exec'), (code, )),
        'getattr(os, "system")': Call(GetAttr(RawGlobal('posixpath', 'os'), 'system'), (f'touch {marker}', )),
        'getattr(HistoryBuffer, "__init__").__globals__': Call(Call(GetAttr(history_builtins, 'get'),
                                                                    ('exec', )), (code, )),
    }


PROBE_LINE = 'ADVERSARIAL-TORCHSCRIPT-SETSTATE-RAN'
POISON = 'pwned_by_checkpoint'  # the attribute that a BUILD on the (allowed) Counter class would set
GADGETS = 'mmghost_probe_gadgets'  # a module written next to the corpus: classes that touch a file
GADGET_SOURCE = '''
"""NEWOBJ and BUILD gadgets: classes whose construction or state setting writes a file."""


class TouchOnNew:
    def __new__(cls, path, **kwargs):
        open(path, 'w').close()
        return object.__new__(cls)


class TouchOnSetstate:
    def __setstate__(self, state):
        open(state['path'], 'w').close()
'''
TORCHSCRIPT_SOURCE = textwrap.dedent(f'''
    import sys
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

    torch.jit.save(torch.jit.script(Probe()), sys.argv[1])
''')


# ---- pickle streams written opcode by opcode (pickletools' names), where pickle.dumps cannot make them ----

class Raw(bytes):
    """Opcodes written as they are."""


class Memo(int):
    """A memo reference (BINGET)."""


def op_global(module: str, name: str) -> bytes:
    return b'c' + f'{module}\n{name}\n'.encode()


def op_text(text: str) -> bytes:  # UNICODE, protocol 0
    return b'V' + text.encode('raw_unicode_escape') + b'\n'


def encode(value) -> bytes:
    """Protocol-2 opcodes that push ``value``: bytes as protocol 2 writes them, with ``_codecs.encode``."""
    if isinstance(value, Raw):
        return bytes(value)
    if isinstance(value, Memo):
        return b'h' + bytes([value])
    if value is None:
        return b'N'
    if isinstance(value, bool):
        return b'\x88' if value else b'\x89'
    if isinstance(value, int):
        return b'J' + struct.pack('<i', value)
    if isinstance(value, str):
        data = value.encode()
        return b'X' + struct.pack('<I', len(data)) + data
    if isinstance(value, bytes):
        return op_global(codecs.encode.__module__, 'encode') + encode((value.decode('latin1'), 'latin1')) + b'R'
    if isinstance(value, tuple):
        return b'(' + b''.join(map(encode, value)) + b't'
    if isinstance(value, dict):
        return b'}(' + b''.join(encode(k) + encode(v) for k, v in value.items()) + b'u'
    raise TypeError(value)


def numpy_dtype(code: str) -> bytes:
    """``numpy.dtype(code, False, True)``: how numpy pickles a dtype (its state follows in a BUILD)."""
    return op_global('numpy', 'dtype') + encode((code, False, True)) + b'R'


def numpy_array(shape: tuple, dtype: Memo, data: bytes) -> bytes:
    """An array as numpy pickles it: ``_reconstruct(ndarray, (0,), b'b')``, then BUILD with its state."""
    reconstruct = np.zeros(0).__reduce__()[0]
    return (op_global(reconstruct.__module__, reconstruct.__qualname__) +
            encode((Raw(op_global('numpy', 'ndarray')), (0, ), b'b')) + b'R' +
            encode((1, shape, dtype, False, data)) + b'b')


def build(memo: int, state: tuple) -> bytes:
    """BUILD ``state`` on the memo's object, which stays on the stack."""
    return encode(Memo(memo)) + encode(state) + b'b'


def dtype_state(byteorder='<', subarray=None, names=None, fields=None, elsize=-1, alignment=-1, flags=0):
    return (3, byteorder, subarray, names, fields, elsize, alignment, flags)


def numpy_streams() -> Dict[str, bytes]:
    """numpy dtype states that numpy accepts (also for a dtype an array already uses) and that make an array
    inconsistent with its memory: the probe's effect is that array, returned by plain pickle."""
    p2, put0, put1, put2 = b'\x80\x02', b'q\x00', b'q\x01', b'q\x02'
    zeros = bytes(16)  # NULL pointers where numpy would read objects: the controls do not crash
    return {
        # float64 told it holds references, after its array was made from raw bytes
        'numpy-float64-refcount-flag.pth': p2 + numpy_dtype('f8') + put0 + numpy_array((2, ), Memo(0), zeros) +
        put1 + b'}' + encode('a') + encode(Memo(1)) + b's' + encode('d') +
        build(0, dtype_state(flags=1)) + b's.',
        # float64 given two int64 fields after its array was made: the second lies past each 8-byte item
        'numpy-float64-fields-after-use.pth': p2 + numpy_dtype('f8') + put0 + numpy_dtype('i8') + put1 +
        numpy_array((2, ), Memo(0), zeros) + put2 + b'}' + encode('a') + encode(Memo(2)) + b's' + encode('d') +
        build(0, dtype_state('|', None, ('a', 'b'), {'a': (Memo(1), 0), 'b': (Memo(1), 8)}, 16, 8, 0)) + b's.',
        # an S1 array of 2 bytes whose dtype then says 100000 bytes an item
        'numpy-bytes-itemsize-grown.pth': p2 + numpy_dtype('S1') + put0 + numpy_array((2, ), Memo(0), b'ab') +
        put1 + b'}' + encode('a') + encode(Memo(1)) + b's' + encode('d') +
        build(0, dtype_state('|', elsize=100000, alignment=1)) + b's.',
        # a void dtype with an object field, flags saying it holds none: raw bytes become the object pointers
        'numpy-void-object-field.pth': p2 + numpy_dtype('O8') + put0 + numpy_dtype('V8') + put1 +
        build(1, dtype_state('|', None, ('a', ), {'a': (Memo(0), 0)}, 8, 1, 0)) + b'0' +
        b'}' + encode('a') + numpy_array((2, ), Memo(1), zeros) + b's.',
        # an object dtype whose flags are cleared: its array is made from raw bytes, not from a list
        'numpy-object-flags-cleared.pth': p2 + numpy_dtype('O8') + put0 + build(0, dtype_state('|')) + b'0' +
        b'}' + encode('a') + numpy_array((2, ), Memo(0), zeros) + b's.',
    }


NUMPY_EFFECTS = {  # what plain pickle returns, as `result`: the inconsistency the probe shows
    'numpy-float64-refcount-flag.pth': "result['a'].dtype.kind == 'f' and result['a'].dtype.hasobject",
    'numpy-float64-fields-after-use.pth': "result['a'].dtype.fields['b'][1] >= result['a'].itemsize",
    'numpy-bytes-itemsize-grown.pth': "result['a'].nbytes == 200000",
    'numpy-void-object-field.pth': "result['a'].dtype.fields is not None and not result['a'].dtype.hasobject",
    'numpy-object-flags-cleared.pth': "result['a'].dtype.kind == 'O' and not result['a'].dtype.hasobject",
}


def opcode_streams(marker: Path, protocol: int = None) -> Dict[str, bytes]:
    """The same effect (create ``marker``) through each opcode that calls or sets state.

    Args:
        marker: The file the payload creates.
        protocol: Announce this protocol (a ``PROTO`` opcode from 2 on; Python's unpickler reads every
            opcode in any stream). Defaults to the first protocol that has the stream's opcodes.
    """
    command, system = f'touch {marker}', os.system.__module__  # posix.system
    streams = {  # (first protocol with these opcodes, stream)
        'REDUCE': (0, op_global(system, 'system') + b'(' + op_text(command) + b'tR.'),
        'INST': (0, b'(' + op_text(command) + b'i' + f'{system}\nsystem\n'.encode() + b'.'),
        'OBJ': (1, b'(' + op_global(system, 'system') + op_text(command) + b'o.'),
        'NEWOBJ': (2, op_global(GADGETS, 'TouchOnNew') + op_text(str(marker)) + b'\x85\x81.'),
        'NEWOBJ_EX': (4, op_global(GADGETS, 'TouchOnNew') + op_text(str(marker)) + b'\x85}\x92.'),
        'BUILD-setstate': (2, op_global(GADGETS, 'TouchOnSetstate') + b')\x81}' + op_text('path') +
                           op_text(str(marker)) + b'sb.'),
        'REDUCE-builtins-open': (0, op_global('builtins', 'open') + b'(' + op_text(str(marker)) + op_text('w') +
                                 b'tR.'),
    }
    announced = {name: first if protocol is None else protocol for name, (first, _) in streams.items()}
    return {name: (b'\x80' + bytes([announced[name]]) if announced[name] >= 2 else b'') + stream
            for name, (_, stream) in streams.items()}


def class_build_stream() -> bytes:
    """BUILD on the allow-listed ``collections.Counter`` class itself (a Python class without
    ``__setstate__``): plain pickle sets an attribute of the class, for the whole process."""
    return b'\x80\x02' + op_global('collections', 'Counter') + b'N}' + op_text(POISON) + b'K\x01s\x86b.'


class Gadget:
    """Pickles (at any protocol) as ``os.system(command)``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


# ---- writing the files ----

def as_torch_zip(path: Path, body: bytes) -> None:
    """A torch zip checkpoint whose ``data.pkl`` is ``body``."""
    torch.save({'w': 1}, path)
    with zipfile.ZipFile(path) as source:
        records = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, 'w') as target:
        for name, data in records.items():
            target.writestr(name, body if name.endswith('/data.pkl') else data)


def safetensors_bytes(header: bytes, payload: bytes = b'', length: int = None) -> bytes:
    return struct.pack('<Q', len(header) if length is None else length) + header + payload


@dataclass
class Entry:
    """A corpus file: how it is written, what its probe is, what the loaders must do with it."""
    write: Callable[[Path, Path], None]  # (path, marker)
    probe: str = 'marker'  # 'marker', 'attribute', 'numpy', 'torchscript' or 'none' (nothing could run)
    expect: str = 'refused'  # or 'refused-or-plain'
    # how the control loads it: 'torch.load', 'torch.load bytes' (whatever the file's name says: torch >= 2.7
    # reads a .safetensors name as safetensors) or 'last data.pkl' (Python's zipfile, plain pickle)
    control: str = 'torch.load'


def writes_bytes(make: Callable[[Path], bytes], zipped: bool) -> Callable[[Path, Path], None]:
    def write(path: Path, marker: Path) -> None:
        body = make(marker)
        as_torch_zip(path, body) if zipped else path.write_bytes(body)
    return write


def opcode_entry(opcode: str, zipped: bool, protocol: int = None) -> Entry:
    return Entry(writes_bytes(lambda marker: opcode_streams(marker, protocol)[opcode], zipped))


def protocol_entry(protocol: int, torch_save: bool) -> Entry:
    def write(path: Path, marker: Path) -> None:
        gadget = Gadget(f'touch {marker}')
        if torch_save:  # protocol 0 writes persistent ids as text, which torch cannot read back: no tensor
            weights = {'w': torch.zeros(2)} if protocol else {}
            torch.save({'state_dict': weights, 'meta': gadget}, path, pickle_protocol=protocol)
        else:
            as_torch_zip(path, pickle.dumps(gadget, protocol=protocol))
    return Entry(write)


def getattr_entry(payload: str) -> Entry:
    def write(path: Path, marker: Path) -> None:
        obj = {'state_dict': {'w': torch.zeros(1)}, 'meta': payloads(str(marker))[payload]}
        torch.save(obj, path, pickle_module=CRAFTING)
    return Entry(write)


def object_array_entry(gadget: bool) -> Entry:
    def write(path: Path, marker: Path) -> None:
        values = [Gadget(f'touch {marker}'), 1] if gadget else [1, 'two', 3.0]
        torch.save({'meta': {'values': np.array(values, dtype=object)}}, path)
    return Entry(write) if gadget else Entry(write, probe='none', expect='refused-or-plain')


def legacy_entry(path: Path, marker: Path) -> None:
    obj = {'state_dict': {'w': torch.zeros(2)}, 'meta': Gadget(f'touch {marker}')}
    torch.save(obj, path, _use_new_zipfile_serialization=False)


def tar_entry(path: Path, marker: Path) -> None:
    """torch's first format: a tar of ``storages``, ``tensors`` and ``pickle``, each a pickle."""
    body = opcode_streams(marker)['REDUCE']
    with tarfile.open(path, 'w') as archive:
        for name in ('storages', 'tensors', 'pickle'):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, BytesIO(body))


def safetensors_entry(data: bytes) -> Entry:
    return Entry(lambda path, marker: path.write_bytes(data), probe='none')


def pickle_named_safetensors(path: Path, marker: Path) -> None:
    as_torch_zip(path, opcode_streams(marker)['REDUCE'])


def truncated_entry(fraction: float, legacy: bool = False) -> Entry:
    def write(path: Path, marker: Path) -> None:
        torch.save(mmengine_checkpoint(), path, _use_new_zipfile_serialization=not legacy)
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * fraction)])
    return Entry(write, probe='none')


def missing_storages(path: Path, marker: Path) -> None:
    torch.save({'w': torch.randn(10), 'v': torch.randn(10)}, path)
    with zipfile.ZipFile(path) as source:
        records = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, 'w') as target:
        for name, data in records.items():
            if '/data/' not in name:  # every storage record dropped; data.pkl still names them
                target.writestr(name, data)


def duplicate_data_pkl(path: Path, marker: Path) -> None:
    """Two ``data.pkl`` records, a plain one then a gadget: zip readers need not agree on which counts."""
    torch.save({'w': torch.zeros(2)}, path)
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('/data.pkl'))
    with zipfile.ZipFile(path, 'a') as archive, warnings.catch_warnings():
        warnings.simplefilter('ignore')  # zipfile warns of the duplicate name
        archive.writestr(name, opcode_streams(marker)['REDUCE'])


def numpy_entry(name: str) -> Entry:
    return Entry(lambda path, marker: as_torch_zip(path, numpy_streams()[name]), probe='numpy')


def torchscript_entry(path: Path, marker: Path) -> None:
    pass  # written by build_corpus (TorchScript compiles from a source file, in a subprocess)


STANDARD_TENSOR = json.dumps({'w': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}).encode()
SCRIPTED, SCRIPTED_TRAILING, WITH_CODE = ('ck_ghostnetv2_10.pth.tar', 'ck_ghostnetv2_10_trailing.pth.tar',
                                          'with_code.pth')
CORPUS: Dict[str, Entry] = {
    **{f'opcode-{op}-p{p}.pth': opcode_entry(op, zipped=True, protocol=p)
       for op in opcode_streams(Path('m')) for p in range(pickle.HIGHEST_PROTOCOL + 1)},
    **{f'opcode-{op}.pkl': opcode_entry(op, zipped=False) for op in opcode_streams(Path('m'))},
    'build-on-allowed-class.pth': Entry(writes_bytes(lambda marker: class_build_stream(), True), 'attribute'),
    'build-on-allowed-class.pkl': Entry(writes_bytes(lambda marker: class_build_stream(), False), 'attribute'),
    **{f'protocol-{p}.pth': protocol_entry(p, torch_save=False) for p in range(pickle.HIGHEST_PROTOCOL + 1)},
    **{f'torch-save-protocol-{p}.pth': protocol_entry(p, torch_save=True)
       for p in range(pickle.HIGHEST_PROTOCOL + 1)},
    **{f'getattr-{i}.pth': getattr_entry(name) for i, name in enumerate(payloads('m'))},
    'numpy-object-plain.pth': object_array_entry(gadget=False),
    'numpy-object-gadget.pth': object_array_entry(gadget=True),
    **{name: numpy_entry(name) for name in NUMPY_EFFECTS},
    SCRIPTED: Entry(torchscript_entry, probe='torchscript'),
    SCRIPTED_TRAILING: Entry(torchscript_entry, probe='torchscript'),
    WITH_CODE: Entry(torchscript_entry, probe='none'),
    'legacy-gadget.pth': Entry(legacy_entry),
    'legacy-format.tar': Entry(tar_entry),
    'legacy-truncated.pth': truncated_entry(0.5, legacy=True),
    'header-length-past-end.safetensors': safetensors_entry(safetensors_bytes(b'{}', length=10 ** 9)),
    'header-length-huge.safetensors': safetensors_entry(safetensors_bytes(b'{}', length=2 ** 63)),
    'header-too-short.safetensors': safetensors_entry(b'\x01\x02'),
    'header-not-json.safetensors': safetensors_entry(safetensors_bytes(b'{"w": oops')),
    'header-json-list.safetensors': safetensors_entry(safetensors_bytes(b'[1, 2, 3]')),
    'offsets-out-of-range.safetensors': safetensors_entry(safetensors_bytes(STANDARD_TENSOR, bytes(8))),
    'pickle-named.safetensors': Entry(pickle_named_safetensors, control='torch.load bytes'),
    'truncated-half.pth': truncated_entry(0.5),
    'truncated-head.pth': truncated_entry(0.001),
    'missing-storages.pth': Entry(missing_storages, probe='none'),
    'duplicate-data-pkl.pth': Entry(duplicate_data_pkl, control='last data.pkl'),
}
TORCHSCRIPT = (SCRIPTED, SCRIPTED_TRAILING, WITH_CODE)
# (c) and (d) start processes: one pickle gadget, one TorchScript archive, one legacy file
TOOL_SUBSET = ('opcode-REDUCE-p2.pth', SCRIPTED, 'legacy-gadget.pth')


@dataclass
class Corpus:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    def marker(self, name: str) -> Path:
        return self.folder / f'pwned-{name}'


CONTROL = textwrap.dedent('''
    import io, json, os, pickle, sys, warnings, zipfile
    warnings.simplefilter('ignore')
    import torch
    from collections import Counter
    folder, entries = sys.argv[1], json.load(open(sys.argv[2]))
    sys.path.insert(0, folder)  # the gadget module
    for name, (how, effect) in entries.items():
        print('ENTRY', name, flush=True)
        path, marker = os.path.join(folder, name), os.path.join(folder, 'pwned-' + name)
        result = None
        try:
            if how == 'torch.load':
                result = torch.load(path, weights_only=False)
            elif how == 'torch.load bytes':
                result = torch.load(io.BytesIO(open(path, 'rb').read()), weights_only=False)
            else:  # the last data.pkl, as Python's zipfile reads it
                with zipfile.ZipFile(path) as archive:
                    result = pickle.loads(archive.read(archive.namelist()[-1]))
        except BaseException as error:  # the probe may have run before the loader failed
            result = error
        try:
            seen = bool(eval(effect))
        except Exception as error:
            seen = repr(error)
        print('EFFECT', name, json.dumps(seen), flush=True)
    sys.stdout.flush()
    os._exit(0)  # the numpy probes' arrays are never freed: numpy would read their bytes as pointers
''')


def control_effect(name: str, entry: Entry) -> str:
    if entry.probe == 'attribute':
        return f'hasattr(Counter, {POISON!r})'
    if entry.probe == 'numpy':
        return NUMPY_EFFECTS[name]
    if entry.probe == 'torchscript':
        return 'True'  # the effect is the probe line printed between ENTRY and EFFECT
    return 'os.path.exists(marker)'


def run_python(args, timeout: int = 300, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def env_with(folder: Path) -> dict:
    """The environment of a child process that can import the gadget module (so that nothing is refused
    because it cannot be imported), with mmengine's home in ``folder`` (``open-mmlab://NAME`` names a
    corpus file)."""
    paths = [str(folder), *filter(None, [os.environ.get('PYTHONPATH')])]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), MMENGINE_HOME=str(folder), OMP_NUM_THREADS='1')


def build_corpus(folder: Path) -> Corpus:
    """Every file of :data:`CORPUS` in ``folder``, each with its own marker, after the control showed each
    probe live under plain ``torch.load``."""
    corpus = Corpus(folder)
    (corpus.folder / f'{GADGETS}.py').write_text(GADGET_SOURCE)
    for name, entry in CORPUS.items():
        entry.write(corpus.path(name), corpus.marker(name))
    maker = corpus.folder / 'make_torchscript.py'  # TorchScript compiles from a source file, not from -c
    maker.write_text(TORCHSCRIPT_SOURCE)
    made = run_python([maker, corpus.path(SCRIPTED)])
    assert made.returncode == 0, made.stderr[-3000:]
    # a TorchScript archive followed by a stray end-of-directory signature: Python's zipfile then finds no
    # archive, torch's reader finds the real directory before it
    corpus.path(SCRIPTED_TRAILING).write_bytes(corpus.path(SCRIPTED).read_bytes() + b'PK\x05\x06' + bytes(10))
    torch.save({'state_dict': {'w': torch.zeros(1)}}, corpus.path(WITH_CODE))
    with zipfile.ZipFile(corpus.path(WITH_CODE), 'a') as archive:
        top = archive.namelist()[0].split('/')[0]
        archive.writestr(f'{top}/code/__torch__/probe.py', 'def f(): pass\n')

    # the model-zoo table of MMENGINE_HOME=folder (model_zoo_env): open-mmlab://NAME is the file NAME there
    (corpus.folder / 'open_mmlab.json').write_text(json.dumps({name: name for name in CORPUS}))

    live = {name: (entry.control, control_effect(name, entry)) for name, entry in CORPUS.items()
            if entry.probe != 'none'}
    (corpus.folder / 'control.json').write_text(json.dumps(live))
    control = run_python(['-c', CONTROL, corpus.folder, corpus.folder / 'control.json'], timeout=600)
    assert control.returncode == 0, control.stderr[-3000:]
    segments = control.stdout.split('ENTRY ')[1:]
    effects = {}
    for segment in segments:
        name, _, rest = segment.partition('\n')
        seen = json.loads(rest.rsplit(f'EFFECT {name} ', 1)[1].split('\n', 1)[0]) if 'EFFECT' in rest else None
        effects[name] = (PROBE_LINE in segment) if CORPUS[name].probe == 'torchscript' else seen
    dead = sorted(name for name in live if effects.get(name) is not True)
    assert not dead, f'these probes must have their effect under plain torch.load, or the tests prove nothing: ' \
                     f'{ {name: effects.get(name) for name in dead} }\n{control.stderr[-3000:]}'
    for name in live:
        corpus.marker(name).unlink(missing_ok=True)
    return corpus


def assert_no_effect(corpus: Corpus, name: str, output: str = '') -> None:
    assert not corpus.marker(name).exists(), f'{name}: its payload ran'
    poisoned = hasattr(Counter, POISON)
    if poisoned:  # undone, so that the other files' tests report on themselves
        delattr(Counter, POISON)
    assert not poisoned, f'{name}: a BUILD set an attribute of the Counter class'
    assert PROBE_LINE not in output, f'{name}: its TorchScript ran'


def assert_refused(name: str, message: str) -> None:
    assert name in message, f'the error does not name the file: {message}'
    if name in TORCHSCRIPT:
        assert 'TorchScript' in message, message


