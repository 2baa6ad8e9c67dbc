"""mmghost.compat on the installed torch and mmengine: each private API is found, and agrees with the
fallback that would replace it. The compat suite runs this file on the oldest supported stack too."""
import collections

import pytest
import torch
from mmengine.model import BaseModule

from mmghost import compat

URIS = ['s3://bucket/a.pth', 'cluster:s3://bucket/a.pth', 'http://host/x.pth', 'https://h/y', '/local/a.pth',
        'relative/b.pth', 'petrel://x']
COUNTS = [0, 7, 100, 101, 999, 1_000, 100_001, 6_156_908, 167_050_000, 999_999_999, 12_000_000_000_000, -2_500]


def test_the_private_apis_exist_on_this_stack():
    """A release that moved one shows here, not as a silently used fallback."""
    for module, name in (('mmengine.fileio.io', '_parse_uri_prefix'),
                         ('torch._weights_only_unpickler', '_get_allowed_globals'),
                         ('mmengine.analysis.print_helper', '_format_size'),
                         ('mmengine.runner.checkpoint', '_get_mmengine_home'),
                         ('mmengine.runner.checkpoint', '_process_mmcls_checkpoint')):
        assert compat._private(module, name) is not None, f'{module}.{name}'
    assert compat._private('mmengine.fileio.io', 'no_such_name') is None
    assert compat._private('no_such_module', 'x') is None


@pytest.mark.parametrize('uri', URIS)
def test_uri_prefix_matches_its_fallback(uri):
    assert compat.uri_prefix(uri) == compat.own_uri_prefix(uri)
    assert (compat.uri_prefix(uri) is None) == ('://' not in uri)


def test_uri_prefix_examples():
    assert compat.uri_prefix('cluster:s3://b/x') == 's3' and compat.uri_prefix('/a/b') is None


@pytest.mark.parametrize('count', COUNTS)
def test_format_size_matches_its_fallback(count):
    assert compat.format_size(count) == compat.own_format_size(count)


def test_format_size_examples():
    assert compat.format_size(6_156_908) == '6.157M' and compat.format_size(167_050_000) == '0.167G'


def test_torch_globals_hold_what_a_state_dict_needs_and_nothing_that_runs_code():
    allowed = compat.torch_weights_only_globals()
    assert allowed['collections.OrderedDict'] is collections.OrderedDict
    assert allowed['torch._utils._rebuild_tensor_v2'] is torch._utils._rebuild_tensor_v2
    own = compat.own_tensor_globals()
    for name in ('collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'):
        assert own[name] is allowed[name]
    assert own['torch.float32'] is torch.float32 and own['torch.FloatStorage'] is torch.FloatStorage
    dangerous = {'builtins.eval', 'builtins.exec', 'builtins.getattr', 'builtins.__import__', 'builtins.open',
                 'builtins.compile', 'os.system', 'subprocess.Popen', 'posix.system'}
    assert not dangerous & {*allowed, *own}


@pytest.mark.parametrize('home', [None, 'custom'])
def test_mmengine_home_matches_its_fallback(home, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    if home is None:
        monkeypatch.delenv('MMENGINE_HOME', raising=False)
    else:
        monkeypatch.setenv('MMENGINE_HOME', str(tmp_path / home))
    expected = tmp_path / (home or 'cache/mmengine')
    assert compat.mmengine_home() == compat.own_mmengine_home() == str(expected)


@pytest.mark.parametrize('wrapped', [True, False], ids=['state_dict', 'bare'])
def test_mmcls_checkpoint_matches_its_fallback(wrapped):
    weights = collections.OrderedDict([('backbone.conv.weight', torch.ones(1)), ('head.fc.bias', torch.zeros(1)),
                                       ('backbone.bn.bias', torch.full((1, ), 2.0))])
    checkpoint = dict(state_dict=weights, meta={}) if wrapped else weights
    for result in (compat.mmcls_checkpoint(checkpoint), compat.own_mmcls_checkpoint(checkpoint)):
        assert list(result) == ['state_dict'] and list(result['state_dict']) == ['conv.weight', 'bn.bias']
        assert float(result['state_dict']['bn.bias']) == 2.0


def test_mark_initialized_makes_init_weights_skip_the_module():
    class Probe(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type='Constant', layer='Conv2d', val=3.0))
            self.conv = torch.nn.Conv2d(1, 1, 1)

    probe = Probe()
    torch.nn.init.zeros_(probe.conv.weight)
    compat.mark_initialized(probe)
    probe.init_weights()
    assert probe.is_init and float(probe.conv.weight) == 0.0
    fresh = Probe()
    fresh.init_weights()
    assert float(fresh.conv.weight) == 3.0
