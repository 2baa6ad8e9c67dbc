"""Installing mmghost into a working OpenMMLab stack changes none of its torch, mmcv, mmengine, mmdet, mmseg.

pip's own resolver plans ``pip install mmghost-*.whl[extra]`` (the wheel built from setup.py) in dry-run mode
for simulated installed stacks (tests/fake_dists.py), each a combination that mmdet and mmseg accept
themselves. The wheel folder pip may install from also holds newer releases of those packages, so a
requirement tighter than the stack shows up as a planned install in pip's report; the negative control
shows that the old exact pins do.
"""
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from fake_dists import build_mmghost_wheel, dry_run, make_stack, make_wheel, pip_version, wheel_requires

pytestmark = pytest.mark.skipif(pip_version() < (22, 3), reason='pip install --python needs pip >= 22.3')

PROTECTED = ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmsegmentation')

# Newer releases of the protected packages (the high end mmghost is tested with, and mmcv 2.2.0, which
# mmdet 3.x / mmseg 1.x refuse), and the small dependencies pip may install.
BAIT = {'torch': '2.14.1', 'torchvision': '0.29.1', 'mmengine': '0.10.7', 'mmdet': '3.3.0',
        'mmsegmentation': '1.2.2'}
BAIT_MMCV = ('2.1.0', '2.2.0')
SMALL_DEPS = {'safetensors': '0.4.5', 'pycocotools': '2.0.8', 'ftfy': '6.3.1', 'regex': '2024.11.6'}


def stack(torch, torchvision, mmcv, mmengine, mmdet, mmseg, numpy='1.26.4'):
    return dict(torch=torch, torchvision=torchvision, mmcv=mmcv, mmengine=mmengine, mmdet=mmdet,
                mmsegmentation=mmseg, numpy=numpy)


STACKS = {
    'torch2.1.0-mmcv2.1.0-mmengine0.10.3-mmdet3.2.0-mmseg1.2.2':
        stack('2.1.0', '0.16.0', '2.1.0', '0.10.3', '3.2.0', '1.2.2'),
    'torch2.0.1-mmcv2.0.1-mmengine0.8.4-mmdet3.1.0-mmseg1.1.2':
        stack('2.0.1', '0.15.2', '2.0.1', '0.8.4', '3.1.0', '1.1.2'),
    'low-end-torch2.0.1-mmcv2.0.1-mmengine0.8.0-mmdet3.1.0-mmseg1.1.0':
        stack('2.0.1', '0.15.2', '2.0.1', '0.8.0', '3.1.0', '1.1.0'),
    'modern-torch2.14.1-mmcv2.1.0-mmengine0.10.7-mmdet3.3.0-mmseg1.2.2':
        stack('2.14.1', '0.29.1', '2.1.0', '0.10.7', '3.3.0', '1.2.2', numpy='2.4.6'),
    'torch2.1.2-mmcv2.1.0-mmengine0.10.7-mmdet3.3.0-mmseg1.2.2':
        stack('2.1.2', '0.16.2', '2.1.0', '0.10.7', '3.3.0', '1.2.2'),
}
EXTRAS = ('', 'mmdet', 'mmseg', 'all')

# The versions the project's two stacks run (scripts/install_env.sh): every range must hold both ends.
TESTED_ENDS = {'torch': ('2.0.1', '2.14.1'), 'mmcv': ('2.0.1', '2.1.0'), 'mmengine': ('0.8.0', '0.10.7'),
               'mmdet': ('3.1.0', '3.3.0'), 'mmsegmentation': ('1.1.0', '1.2.2')}

# The requirements setup.py had before it declared ranges: pip would upgrade the stacks of real users.
OLD_PINS = ['torch>=2.1.2,<=2.14.1', 'mmengine==0.10.7', 'mmcv==2.1.0', 'numpy', 'safetensors',
            'mmdet==3.3.0; extra == "mmdet"', 'pycocotools; extra == "mmdet"']


@pytest.fixture(scope='module')
def wheels(tmp_path_factory):
    """The folder pip installs from: bait releases and small dependencies (fake), and mmghost's own wheel."""
    folder = tmp_path_factory.mktemp('find-links')
    for name, version in {**BAIT, **SMALL_DEPS}.items():
        make_wheel(folder, name, version)
    for version in BAIT_MMCV:
        make_wheel(folder, 'mmcv', version)
    make_wheel(folder, 'oldpins', '0.0.0', OLD_PINS, extras=['mmdet'])
    return folder


@pytest.fixture(scope='module')
def mmghost_wheel(tmp_path_factory):
    return build_mmghost_wheel(tmp_path_factory.mktemp('mmghost-wheel'))


@pytest.fixture(scope='module')
def stacks(tmp_path_factory):
    """Makes each simulated stack once, on first use: {id: its python}."""
    made = {}

    def get(stack_id):
        if stack_id not in made:
            made[stack_id] = make_stack(tmp_path_factory.mktemp('stack') / stack_id, STACKS[stack_id])
        return made[stack_id]
    return get


def protected(planned):
    return [f'{name}=={version}' for name, version in planned if name in PROTECTED]


def with_extra(path, extra):
    return f'{path}[{extra}]' if extra else str(path)


def test_wheel_requires_ranges_holding_both_tested_ends(mmghost_wheel):
    requirements = [Requirement(line) for line in wheel_requires(mmghost_wheel)]
    by_name = {}
    for requirement in requirements:
        by_name.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    assert set(TESTED_ENDS) <= set(by_name), f'missing from Requires-Dist: {set(TESTED_ENDS) - set(by_name)}'
    for name, reqs in by_name.items():
        if name not in PROTECTED:
            continue
        for requirement in reqs:
            operators = {spec.operator for spec in requirement.specifier}
            assert not operators & {'==', '==='}, f'{requirement} pins {name}'
            for version in TESTED_ENDS.get(name, ()):
                assert requirement.specifier.contains(Version(version)), f'{requirement} excludes tested {version}'
    torch_upper = {spec.operator for req in by_name['torch'] for spec in req.specifier} & {'<', '<=', '~=', '!='}
    assert not torch_upper, 'torch has an upper bound: installing mmghost could downgrade torch'
    for requirement in by_name['mmcv']:
        assert not requirement.specifier.contains(Version('2.2.0')), 'mmdet 3.x and mmseg 1.x refuse mmcv 2.2'
    extras_of = {name: {str(req.marker) for req in reqs} for name, reqs in by_name.items()}
    assert extras_of['mmdet'] == {'extra == "mmdet"', 'extra == "all"'}
    assert extras_of['mmsegmentation'] == {'extra == "mmseg"', 'extra == "all"'}


@pytest.mark.parametrize('extra', EXTRAS, ids=lambda extra: f'[{extra}]' if extra else 'no-extra')
@pytest.mark.parametrize('stack_id', STACKS)
def test_pip_keeps_the_installed_stack(stack_id, extra, stacks, wheels, mmghost_wheel, tmp_path):
    planned = dry_run(stacks(stack_id), with_extra(mmghost_wheel, extra), wheels, tmp_path / 'report.json')
    assert 'mmghost' in {name for name, _ in planned}, f'pip plans no mmghost install: {planned}'
    assert not protected(planned), (
        f'pip would install {protected(planned)} into the stack {stack_id} for {with_extra("mmghost", extra)} '
        f'(everything it would install: {planned})')


def test_negative_control_old_pins_would_upgrade_the_stack(stacks, wheels, tmp_path):
    stack_id = 'torch2.1.0-mmcv2.1.0-mmengine0.10.3-mmdet3.2.0-mmseg1.2.2'
    planned = dry_run(stacks(stack_id), 'oldpins[mmdet]', wheels, tmp_path / 'report.json')
    assert protected(planned) == ['mmdet==3.3.0', 'mmengine==0.10.7', 'torch==2.14.1'], planned
