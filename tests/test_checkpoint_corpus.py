"""Every file of the adversarial corpus (checkpoint_corpus.py) through every path that loads a checkpoint.

(a) ``load_checkpoint_file`` (with and without ``mmap``, by path and by model-zoo name);
(b) ``GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=...)).init_weights()``, with the local path, an
    http URL of a local server and a model-zoo name;
(c) mmengine's own loaders (``_load_checkpoint`` and ``CheckpointLoader.load_checkpoint``, by path and by
    model-zoo name) after ``enable_safe_checkpoint_loading()``, in a fresh process;
(d) ``tools/test.py CONFIG CHECKPOINT``, ``tools/train.py CONFIG --resume PATH`` and ``load_from=PATH``, with a
    pickle gadget, a TorchScript archive and a legacy file, on demo data made here.

Every file must be refused with a ``ValueError`` that names it (and, for TorchScript archives, names
TorchScript), or, for a numpy object array of plain values, load as the same plain data; no probe's effect
may appear anywhere. Nothing here depends on the torch version: tests_compat runs these tests on the compat
stack (torch 2.0.1, numpy 1) as they are.
"""
import json
import shutil
import textwrap

import pytest
import torch

from checkpoint_corpus import (CORPUS, POISON, SCRIPTED, TOOL_SUBSET, TORCHSCRIPT, WITH_CODE, Corpus,
                               assert_no_effect, assert_refused, build_corpus, env_with, run_python)
from local_http import served  # noqa: F401  (a fixture)
from mmghost.demo_data import make_detection_dataset
from mmghost.models import GhostNetV2
from mmghost.utils import is_torchscript_archive, load_checkpoint_file
from tools_helpers import CHECKPOINT_TOOLS, ROOT, checkpoint_tool_args, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'


@pytest.fixture(scope='module')
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp('adversarial'))


def test_torchscript_archives_are_recognised_and_a_plain_checkpoint_is_not(corpus, tmp_path):
    plain = tmp_path / 'plain.pth'
    torch.save({'w': torch.zeros(1)}, plain)
    assert all(is_torchscript_archive(str(corpus.path(name))) for name in TORCHSCRIPT)
    assert not is_torchscript_archive(str(plain))
    with open(corpus.path(SCRIPTED), 'rb') as f:
        assert is_torchscript_archive(f) and f.tell() == 0
    assert is_torchscript_archive(str(corpus.path(WITH_CODE)))


def pretrained(checkpoint: str) -> None:
    GhostNetV2(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)).init_weights()


@pytest.mark.parametrize('name', list(CORPUS))
def test_library_paths_refuse_the_file(corpus, served, name, capfd, monkeypatch):
    """(a) load_checkpoint_file, (b) init_cfg Pretrained by path, URL and model-zoo name."""
    root, url = served
    path, entry = corpus.path(name), CORPUS[name]
    shutil.copy(path, root / name)
    monkeypatch.syspath_prepend(str(corpus.folder))  # the gadget classes are importable here
    monkeypatch.setenv('MMENGINE_HOME', str(corpus.folder))  # open-mmlab://NAME is the corpus file
    attempts = {'load_checkpoint_file': lambda: load_checkpoint_file(str(path)),
                'load_checkpoint_file(mmap=True)': lambda: load_checkpoint_file(str(path), mmap=True),
                'load_checkpoint_file(open-mmlab://)': lambda: load_checkpoint_file(f'open-mmlab://{name}'),
                'Pretrained path': lambda: pretrained(str(path)),
                'Pretrained URL': lambda: pretrained(f'{url}/{name}'),
                'Pretrained open-mmlab://': lambda: pretrained(f'open-mmlab://{name}')}
    for label, attempt in attempts.items():
        try:
            loaded = attempt()
        except ValueError as error:
            assert_refused(name, str(error))
        except TypeError as error:  # plain data that is no state dict, given to the backbone
            assert entry.expect == 'refused-or-plain' and label.startswith('Pretrained'), f'{label}: {error!r}'
        else:
            assert entry.expect == 'refused-or-plain', f'{label} loaded {name}'
            if label.startswith('load_checkpoint_file'):
                assert loaded['meta']['values'].tolist() == [1, 'two', 3.0]
    captured = capfd.readouterr()
    assert_no_effect(corpus, name, captured.out + captured.err)


MMENGINE_LOADERS = textwrap.dedent('''
    import json, sys
    from collections import Counter
    from mmengine.runner import CheckpointLoader
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmghost.utils import enable_safe_checkpoint_loading
    enable_safe_checkpoint_loading()  # what the configs' SafeCheckpointLoadingHook and mmghost.runtime do
    outcomes = {}
    for name, path in json.load(open(sys.argv[1])).items():
        for label, load, where in (('_load_checkpoint', _load_checkpoint, path),
                                   ('CheckpointLoader', CheckpointLoader.load_checkpoint, path),
                                   ('open-mmlab://', CheckpointLoader.load_checkpoint, 'open-mmlab://' + name)):
            try:
                loaded = load(where, map_location='cpu')
                outcomes[f'{name} {label}'] = ['loaded', repr(loaded)[:200]]
            except Exception as error:
                outcomes[f'{name} {label}'] = [type(error).__name__, str(error)]
    print('OUTCOMES', json.dumps(dict(outcomes=outcomes, poisoned=hasattr(Counter, sys.argv[2]))))
''')


def test_mmengine_loaders_refuse_every_file_once_enabled(corpus):
    """(c) mmengine's own loaders, once enable_safe_checkpoint_loading ran, in a fresh process."""
    paths = corpus.folder / 'paths.json'
    paths.write_text(json.dumps({name: str(corpus.path(name)) for name in CORPUS}))
    result = run_python(['-c', MMENGINE_LOADERS, paths, POISON], timeout=600, env=env_with(corpus.folder))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.split('OUTCOMES ', 1)[1])
    assert len(report['outcomes']) == 3 * len(CORPUS)
    for key, (kind, message) in report['outcomes'].items():
        name = key.split(' ')[0]
        if kind == 'loaded':
            assert CORPUS[name].expect == 'refused-or-plain', f'{key} loaded: {message}'
        else:
            assert kind == 'ValueError', f'{key}: {kind}: {message}'
            assert_refused(name, message)
    assert not report['poisoned']
    for name in CORPUS:
        assert_no_effect(corpus, name, result.stdout + result.stderr)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """Demo data where the demo config looks for it, so that a tool fails on the checkpoint or not at all."""
    path = tmp_path_factory.mktemp('adversarial_tools')
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=4, num_val=2, seed=7)
    return path


@pytest.mark.parametrize('tool', CHECKPOINT_TOOLS)
@pytest.mark.parametrize('name', TOOL_SUBSET)
def test_the_tools_refuse_the_file(corpus, workspace, name, tool):
    """(d) tools/test.py and tools/train.py --resume / load_from, on a representative subset."""
    result = run_tool(checkpoint_tool_args(tool, CONFIG, corpus.path(name)), workspace, check=False,
                      env=dict(PYTHONPATH=env_with(corpus.folder)['PYTHONPATH']))
    assert result.returncode != 0
    refusal = [line for line in result.stderr.splitlines() if line.startswith('ValueError')]
    assert refusal, result.stderr[-3000:]
    assert_refused(name, refusal[-1])
    assert 'TorchScript archive' in refusal[-1] if name in TORCHSCRIPT else 'refusing to load' in refusal[-1]
    assert_no_effect(corpus, name, result.stdout + result.stderr)
