"""Install mmghost.

``pip install -e ".[mmdet]"`` (or ``[mmseg]``, ``[all]``) in a working mmdet/mmseg environment installs
nothing heavy when its torch, mmcv and mmengine are the tested versions below. ``make install`` builds
the full pinned environment from nothing.
"""
from pathlib import Path

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    exec(Path('mmghost/version.py').read_text(), namespace)
    return namespace['__version__']


MMDET = ['mmdet==3.3.0', 'pycocotools']
MMSEG = ['mmsegmentation==1.2.2', 'ftfy', 'regex']  # mmseg imports ftfy and regex without declaring them

setup(
    name='mmghost',
    version=read_version(),
    description='GhostNetV2 backbone for OpenMMLab detection and segmentation',
    long_description=Path('README.md').read_text() if Path('README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.8',
    packages=find_packages(include=['mmghost', 'mmghost.*']),
    # Ranges are what is tested: the modern stack (torch 2.14.1) and the canonical OpenMMLab one (torch 2.1.2
    # with prebuilt-compatible mmcv 2.1.0), both with mmengine 0.10.7, mmdet 3.3.0 and mmsegmentation 1.2.2.
    install_requires=[
        'torch>=2.1.2,<=2.14.1',
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'numpy',
        'safetensors',  # .safetensors checkpoints (timm's hub weights) for init_cfg Pretrained
    ],
    extras_require={
        # mmghost registers into whichever of mmdet / mmseg is installed; at least one is needed
        'mmdet': MMDET,
        'mmseg': MMSEG,
        'all': MMDET + MMSEG,
        'tests': ['pytest', 'hypothesis', 'timm>=1.0.11'],
        'deploy': ['onnx', 'onnxruntime'],
    },
    license='Apache License 2.0',
)
