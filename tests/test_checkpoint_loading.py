"""Checkpoint loading runs no code from the file, on every path, and accepts what mmdet accepts.

Both unpicklers are exercised: torch's ``weights_only`` one with the allow-list (torch >= 2.6) and the
restricted ``pickle_module`` used on older torch (forced here by patching ``TORCH_LOADS_WEIGHTS_ONLY``).
"""
import functools
import http.server
import os
import pickle
import subprocess
import sys
import textwrap
import threading
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer, MessageHub
from safetensors.torch import save_file

from mmghost.engine import get_rng_states
from mmghost.models import GhostNetV2
from mmghost.utils import checkpoint as ckpt
from mmghost.utils import checkpoint_loading, load_checkpoint_file
from oracle import official_checkpoint
from tools_helpers import CHECKPOINT_TOOLS, ROOT, checkpoint_tool_args, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
# Where mmengine's own loader does the unpickling, only torch >= 2.6 makes it safe (docs/reliability.md)
NEEDS_TORCH_WEIGHTS_ONLY = pytest.mark.skipif(
    not ckpt.TORCH_LOADS_WEIGHTS_ONLY, reason='torch < 2.6: mmengine unpickles these as mmdet does')


@pytest.fixture(params=['torch_weights_only', 'restricted_pickle_module'])
def unpickler(request, monkeypatch):
    """Run the test with each of the two safe unpicklers."""
    if request.param == 'restricted_pickle_module':
        monkeypatch.setattr(ckpt, 'TORCH_LOADS_WEIGHTS_ONLY', False)
    return request.param


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


PAYLOADS = list(payloads('x'))


def write_payload(path, name: str, marker) -> None:
    obj = {'state_dict': {'w': torch.zeros(1)}, 'meta': payloads(str(marker))[name]}
    torch.save(obj, path, pickle_module=CRAFTING)


@pytest.fixture(params=PAYLOADS)
def malicious(request, tmp_path):
    """A checkpoint whose unpickling creates ``marker`` (checked to be live with plain pickle)."""
    marker, path = tmp_path / 'pwned', tmp_path / 'malicious.pth'
    write_payload(path, request.param, marker)
    torch.load(path, weights_only=False)
    assert marker.exists(), 'the payload must run under plain pickle, or the test proves nothing'
    marker.unlink()
    return path, marker


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An http server on 127.0.0.1 serving ``tmp_path/www``; torch hub's cache under ``tmp_path/hub``."""
    root = tmp_path / 'www'
    root.mkdir()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    thread.join()


def assert_same(loaded, saved) -> None:
    torch.testing.assert_close(loaded['state_dict'], saved['state_dict'])
    torch.testing.assert_close(loaded['optimizer']['state'], saved['optimizer']['state'])
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.statistics('mean') == 0.5
    assert loaded['message_hub']['runtime_info']['iter'] == 7 and loaded['meta']['seed'] == 0
    assert np.array_equal(loaded['rng_states'][0]['numpy'][1], saved['rng_states'][0]['numpy'][1])


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_mmengine_checkpoint_loads(tmp_path, unpickler, legacy):
    saved = mmengine_checkpoint()
    path = tmp_path / 'epoch_1.pth'
    torch.save(saved, path, _use_new_zipfile_serialization=not legacy)
    assert_same(load_checkpoint_file(str(path)), saved)
    assert_same(load_checkpoint_file(str(path), mmap=True), saved)
    assert_same(load_checkpoint_file(path.as_uri()), saved)


def test_malicious_checkpoint_runs_nothing(malicious, unpickler):
    path, marker = malicious
    with pytest.raises(ValueError, match='refusing to load') as error:
        load_checkpoint_file(str(path))
    assert not marker.exists()
    if 'HistoryBuffer' in path.read_bytes().decode('latin1'):  # the one that gets past GLOBAL
        assert "getattr only for the statistics methods ('min', 'max', 'current', 'mean')" in str(error.value)


def test_malicious_checkpoint_refused_by_pretrained_init(malicious, unpickler):
    path, marker = malicious
    with pytest.raises(ValueError, match='refusing to load'):
        GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    assert not marker.exists()


def test_getattr_is_restricted_to_history_buffer_statistics():
    assert ckpt.history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__init__'), (HistoryBuffer, 'update'), (os, 'system'), (np, 'mean')]:
        with pytest.raises(pickle.UnpicklingError, match='statistics methods'):
            ckpt.history_buffer_getattr(obj, name)
    assert all(not isinstance(g, tuple) and g is not getattr or g[0] is ckpt.history_buffer_getattr
               for g in ckpt.checkpoint_safe_globals())


@NEEDS_TORCH_WEIGHTS_ONLY
def test_loading_context_leaves_torch_allow_list_as_it_was(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(mmengine_checkpoint(), path)
    before = set(torch.serialization.get_safe_globals())
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # what mmengine 0.10.7 does on torch >= 2.6
    with checkpoint_loading():
        torch.load(path)
    assert set(torch.serialization.get_safe_globals()) == before


def test_http_checkpoint_is_downloaded_and_loaded(served, unpickler, tmp_path):
    root, url = served
    saved = mmengine_checkpoint()
    torch.save(saved, root / 'epoch_1.pth')
    assert_same(load_checkpoint_file(f'{url}/epoch_1.pth'), saved)
    # kept in torch hub's cache, where mmengine's http loading keeps it, and read from there the next time
    cached = tmp_path / 'hub' / 'checkpoints' / 'epoch_1.pth'
    assert cached.is_file()
    (root / 'epoch_1.pth').unlink()
    assert_same(load_checkpoint_file(f'{url}/epoch_1.pth'), saved)


def test_malicious_http_checkpoint_runs_nothing(served, unpickler):
    root, url = served
    marker = root / 'pwned'
    write_payload(root / 'bad.pth', PAYLOADS[0], marker)
    with pytest.raises(ValueError, match='refusing to load'):
        load_checkpoint_file(f'{url}/bad.pth')
    assert not marker.exists()


@NEEDS_TORCH_WEIGHTS_ONLY
@pytest.mark.parametrize('scheme,table', [('open-mmlab', 'get_external_models'),
                                          ('torchvision', 'get_torchvision_models')])
def test_model_zoo_schemes_go_through_mmengine(served, monkeypatch, scheme, table):
    """mmengine maps the name to a URL with its model-zoo table (patched to the local server here)."""
    root, url = served
    saved = mmengine_checkpoint()
    torch.save(saved, root / 'zoo.pth')
    write_payload(root / 'bad.pth', PAYLOADS[1], root / 'pwned')
    import mmengine.runner.checkpoint as mmengine_checkpoint_module
    monkeypatch.setattr(mmengine_checkpoint_module, table, lambda: dict(good=f'{url}/zoo.pth', bad=f'{url}/bad.pth'))
    assert_same(load_checkpoint_file(f'{scheme}://good'), saved)
    with pytest.raises(ValueError, match='refusing to load'):
        load_checkpoint_file(f'{scheme}://bad')
    assert not (root / 'pwned').exists()


def test_safetensors_and_legacy_pretrained_weights(tmp_path, timm_100):
    state = {k: v.contiguous() for k, v in timm_100.state_dict().items()}
    save_file(state, tmp_path / 'model.safetensors')
    official_checkpoint(timm_100, tmp_path / 'official.pth')
    legacy = torch.load(tmp_path / 'official.pth', weights_only=True)
    torch.save(legacy, tmp_path / 'legacy.pth.tar', _use_new_zipfile_serialization=False)
    for name in ('model.safetensors', 'legacy.pth.tar'):
        backbone = GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / name)))
        backbone.init_weights()
        torch.testing.assert_close(backbone.blocks[9][0].conv.weight, timm_100.blocks[9][0].conv.weight)


def test_safetensors_over_http(served, timm_100):
    root, url = served
    save_file({k: v.contiguous() for k, v in timm_100.state_dict().items()}, root / 'model.safetensors')
    loaded = load_checkpoint_file(f'{url}/model.safetensors')
    torch.testing.assert_close(loaded['conv_stem.weight'], timm_100.conv_stem.weight)


def test_mmengine_own_loader_with_the_opt_in(malicious, tmp_path):
    """mmdet's tools load through mmengine's _load_checkpoint; with mmghost.runtime it is safe and works.

    On torch >= 2.6 through torch's allow-list, on torch < 2.6 through mmghost's loaders registered in
    mmengine's CheckpointLoader (tests_compat runs this test on torch 2.1).
    """
    path, marker = malicious
    good = tmp_path / 'epoch_1.pth'
    torch.save(mmengine_checkpoint(), good)
    code = textwrap.dedent(f'''
        import pickle
        import mmghost.runtime
        from mmengine.runner.checkpoint import _load_checkpoint
        assert _load_checkpoint({str(good)!r})['message_hub']['log_scalars']['train/loss'].mean() == 0.5
        try:
            _load_checkpoint({str(path)!r})
        except (pickle.UnpicklingError, ValueError):
            print('refused')
    ''')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'refused'
    assert not marker.exists()


@pytest.mark.parametrize('tool', CHECKPOINT_TOOLS)
def test_every_tool_refuses_getattr_payloads(tmp_path, tool):
    marker, path = tmp_path / 'pwned', tmp_path / 'malicious.pth'
    write_payload(path, PAYLOADS[0], marker)
    result = run_tool(checkpoint_tool_args(tool, CONFIG, path), tmp_path, check=False)
    assert result.returncode != 0
    assert 'refusing to load' in result.stderr
    assert not marker.exists()
