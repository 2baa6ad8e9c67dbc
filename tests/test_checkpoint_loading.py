"""Checkpoint loading accepts what mmdet and mmseg save and load, by every name they use, on every torch.

What it refuses, and that nothing in a refused file runs: test_checkpoint_corpus.py.
"""
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from safetensors.torch import save_file

from checkpoint_corpus import mmengine_checkpoint
from local_http import served  # noqa: F401  (a fixture)
from mmghost.models import GhostNetV2
from mmghost.utils import checkpoint_safe_globals, load_checkpoint_file
from mmghost.utils.checkpoint_globals import history_buffer_getattr
from oracle import official_checkpoint
from tools_helpers import ROOT


def assert_same(loaded, saved) -> None:
    torch.testing.assert_close(loaded['state_dict'], saved['state_dict'])
    torch.testing.assert_close(loaded['optimizer']['state'], saved['optimizer']['state'])
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.statistics('mean') == 0.5
    assert loaded['message_hub']['runtime_info']['iter'] == 7 and loaded['meta']['seed'] == 0
    assert np.array_equal(loaded['rng_states'][0]['numpy'][1], saved['rng_states'][0]['numpy'][1])


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_mmengine_checkpoint_loads(tmp_path, legacy):
    saved = mmengine_checkpoint()
    path = tmp_path / 'epoch_1.pth'
    torch.save(saved, path, _use_new_zipfile_serialization=not legacy)
    assert_same(load_checkpoint_file(str(path)), saved)
    assert_same(load_checkpoint_file(str(path), mmap=True), saved)
    assert_same(load_checkpoint_file(path.as_uri()), saved)


def test_getattr_is_restricted_to_history_buffer_statistics():
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__init__'), (HistoryBuffer, 'update'), (os, 'system'), (np, 'mean')]:
        with pytest.raises(pickle.UnpicklingError, match='statistics methods'):
            history_buffer_getattr(obj, name)
    assert checkpoint_safe_globals()['builtins.getattr'] is history_buffer_getattr
    assert getattr not in checkpoint_safe_globals().values()


def test_loading_leaves_torch_allow_list_as_it_was(tmp_path):
    """mmghost never widens torch's own allow-list: a user's torch.load is torch's business."""
    path = tmp_path / 'epoch_1.pth'
    torch.save(mmengine_checkpoint(), path)
    get_safe_globals = getattr(torch.serialization, 'get_safe_globals', lambda: [])
    before = list(get_safe_globals())
    load_checkpoint_file(str(path))
    from mmghost.utils import enable_safe_checkpoint_loading
    enable_safe_checkpoint_loading()
    assert list(get_safe_globals()) == before


def test_http_checkpoint_is_downloaded_and_loaded(served, tmp_path):
    root, url = served
    saved = mmengine_checkpoint()
    torch.save(saved, root / 'epoch_1.pth')
    assert_same(load_checkpoint_file(f'{url}/epoch_1.pth'), saved)
    # kept in torch hub's cache, where mmengine's http loading keeps it, and read from there the next time
    cached = tmp_path / 'hub' / 'checkpoints' / 'epoch_1.pth'
    assert cached.is_file()
    (root / 'epoch_1.pth').unlink()
    assert_same(load_checkpoint_file(f'{url}/epoch_1.pth'), saved)


@pytest.mark.parametrize('scheme,table', [('open-mmlab', 'get_external_models'),
                                          ('openmmlab', 'get_external_models'),
                                          ('torchvision', 'get_torchvision_models'),
                                          ('modelzoo', 'get_torchvision_models')])
def test_model_zoo_names_resolve_with_mmengine_tables(served, monkeypatch, scheme, table):
    """mmengine maps the name to a URL with its model-zoo table (patched to the local server here)."""
    root, url = served
    saved = mmengine_checkpoint()
    torch.save(saved, root / 'zoo.pth')
    import mmengine.runner.checkpoint as mmengine_checkpoint_module
    monkeypatch.setattr(mmengine_checkpoint_module, table, lambda: dict(good=f'{url}/zoo.pth'))
    assert_same(load_checkpoint_file(f'{scheme}://good'), saved)
    with pytest.raises(ValueError, match=f"{scheme}://missing.*no model 'missing'"):
        load_checkpoint_file(f'{scheme}://missing')


def test_model_zoo_relative_entries_and_deprecated_names(tmp_path, monkeypatch):
    """An ``open-mmlab://`` table entry that is a relative path names a file in mmengine's home; a
    deprecated name is mapped to its successor first."""
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path))
    saved = mmengine_checkpoint()
    torch.save(saved, tmp_path / 'local.pth')
    (tmp_path / 'open_mmlab.json').write_text(json.dumps({'mine/local': 'local.pth'}))
    assert_same(load_checkpoint_file('open-mmlab://mine/local'), saved)
    import mmengine.runner.checkpoint as mmengine_checkpoint_module
    monkeypatch.setattr(mmengine_checkpoint_module, 'get_deprecated_model_names', lambda: {'old': 'mine/local'})
    assert_same(load_checkpoint_file('open-mmlab://old'), saved)


def test_mmcls_names_keep_the_backbone_weights(served, monkeypatch):
    root, url = served
    torch.save({'state_dict': {'backbone.conv.weight': torch.ones(2), 'head.fc.weight': torch.zeros(2)}},
               root / 'cls.pth')
    import mmengine.runner.checkpoint as mmengine_checkpoint_module
    monkeypatch.setattr(mmengine_checkpoint_module, 'get_mmcls_models', lambda: dict(net=f'{url}/cls.pth'))
    loaded = load_checkpoint_file('mmcls://net')
    assert list(loaded['state_dict']) == ['conv.weight']
    torch.testing.assert_close(loaded['state_dict']['conv.weight'], torch.ones(2))


def test_other_schemes_are_refused_naming_what_is_loaded():
    with pytest.raises(ValueError, match=r"cannot load 'pavi://run/model.pth'.*open-mmlab://"):
        load_checkpoint_file('pavi://run/model.pth')


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


def test_mmengine_own_loaders_load_mmengine_checkpoints_with_the_opt_in(tmp_path):
    """mmdet's tools load through mmengine's _load_checkpoint; with mmghost.runtime it loads mmengine's
    checkpoints on every torch (mmengine 0.10.7 alone fails on torch >= 2.6), by path and by model-zoo
    name (tests_compat runs this on torch 2.0.1)."""
    torch.save(mmengine_checkpoint(), tmp_path / 'epoch_1.pth')
    (tmp_path / 'open_mmlab.json').write_text(json.dumps({'mine/epoch_1': 'epoch_1.pth'}))
    code = textwrap.dedent(f'''
        import mmghost.runtime
        from mmengine.runner.checkpoint import _load_checkpoint
        for name in ({str(tmp_path / 'epoch_1.pth')!r}, 'open-mmlab://mine/epoch_1'):
            assert _load_checkpoint(name)['message_hub']['log_scalars']['train/loss'].mean() == 0.5
        print('loaded')
    ''')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MMENGINE_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == 'loaded'
