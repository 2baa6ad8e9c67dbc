"""``import mmghost`` registers GhostNetV2 into mmdet's and/or mmseg's MODELS and changes nothing else.

Each check runs in a fresh interpreter, so that nothing the test session imported earlier hides a change.
"""
import json
import subprocess
import sys
import textwrap

from tools_helpers import ROOT

# Installs a sys.meta_path finder that makes the named top-level packages unimportable.
BLOCKER = textwrap.dedent('''
    import sys

    class Blocker:
        def __init__(self, names):
            self.names = names

        def find_spec(self, fullname, path=None, target=None):
            if fullname.split('.')[0] in self.names:
                raise ModuleNotFoundError(f'No module named {fullname!r} (blocked)', name=fullname)
            return None

    sys.meta_path.insert(0, Blocker(BLOCKED))
''')

# Everything import mmghost could change: torch's weights_only allow-list, mmengine's file backends and
# checkpoint schemes, and the module dict and children of every root registry of mmengine.
SNAPSHOT = textwrap.dedent('''
    def snapshot():
        import mmengine.registry as roots
        import torch
        from mmengine.fileio import backends
        from mmengine.registry import Registry
        from mmengine.runner import CheckpointLoader

        registries = {name: dict(modules={k: id(v) for k, v in reg.module_dict.items()},
                                 children={k: id(v) for k, v in reg._children.items()})
                      for name, reg in vars(roots).items() if isinstance(reg, Registry)}
        return dict(
            safe_globals=sorted(map(repr, getattr(torch.serialization, 'get_safe_globals', list)())),
            backends={k: id(v) for k, v in backends.backends.items()},
            prefixes={k: id(v) for k, v in backends.prefix_to_backends.items()},
            schemes={k: id(v) for k, v in CheckpointLoader._schemes.items()},
            registries=registries)
''')


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_changes_nothing_but_the_model_registries():
    code = SNAPSHOT + textwrap.dedent('''
        import json
        import mmdet.models, mmseg.models, mmengine.runner  # what mmghost builds on, imported first
        from mmdet.registry import MODELS as DET
        from mmseg.registry import MODELS as SEG
        before = snapshot()
        import mmghost
        after = snapshot()
        print(json.dumps(dict(before=before, after=after, det=DET.get('GhostNetV2') is mmghost.GhostNetV2,
                              seg=SEG.get('GhostNetV2') is mmghost.GhostNetV2)))
    ''')
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    before, after = found['before'], found['after']
    assert before['registries'].keys() == after['registries'].keys()
    changed = [name for name in before['registries'] if before['registries'][name] != after['registries'][name]]
    assert changed == [], f'import mmghost changed mmengine root registries {changed}'
    for table in ('safe_globals', 'backends', 'prefixes', 'schemes'):
        assert before[table] == after[table], f'import mmghost changed {table}'
    assert found['det'] and found['seg']


def test_scoped_hook_resolves_from_an_mmdet_scope_without_importing_the_engine_first():
    code = textwrap.dedent('''
        import sys
        import mmghost
        from mmengine.registry import HOOKS, DefaultScope
        assert 'mmghost.engine' not in sys.modules and 'mmghost' not in HOOKS._children
        DefaultScope.get_instance('det', scope_name='mmdet')
        hook = HOOKS.build(dict(type='mmghost.FiniteLossHook'))
        from mmghost.engine import FiniteLossHook
        assert type(hook) is FiniteLossHook
        assert HOOKS._children['mmghost'].get('FiniteLossHook') is FiniteLossHook
        print('ok')
    ''')
    result = run_python(code)
    assert result.returncode == 0 and result.stdout.strip() == 'ok', result.stderr[-3000:]


def _import_with_blocked(blocked):
    code = f'BLOCKED = {blocked!r}\n' + BLOCKER + textwrap.dedent('''
        import json
        try:
            import mmghost
        except ImportError as error:
            print(json.dumps(dict(error=str(error))))
            raise SystemExit(0)
        found = {}
        for package in ('mmdet', 'mmseg'):
            if package not in BLOCKED:
                registry = __import__(f'{package}.registry', fromlist=['MODELS']).MODELS
                found[package] = registry.get('GhostNetV2') is mmghost.GhostNetV2
        found['imported'] = sorted(p for p in ('mmdet', 'mmseg') if p in sys.modules)
        print(json.dumps(found))
    ''')
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_detection_only_environment():
    assert _import_with_blocked(['mmseg']) == dict(mmdet=True, imported=['mmdet'])


def test_segmentation_only_environment():
    assert _import_with_blocked(['mmdet']) == dict(mmseg=True, imported=['mmseg'])


def test_neither_mmdet_nor_mmseg_is_a_clear_import_error():
    error = _import_with_blocked(['mmdet', 'mmseg'])['error']
    assert 'mmghost needs mmdet' in error and 'mmghost[mmdet]' in error and 'mmghost[mmseg]' in error


def test_engine_types_are_what_the_mmghost_scope_registers():
    import mmghost
    from mmghost.engine.scope import HOOKS, OPTIM_WRAPPERS
    assert set(mmghost.ENGINE_TYPES) == set(HOOKS.module_dict) | set(OPTIM_WRAPPERS.module_dict)
    assert all(getattr(mmghost, name).__name__ == name for name in mmghost.ENGINE_TYPES)
