"""Install mmghost.

The OpenMMLab stack (torch, mmcv with ops) is declared with ranges that an existing environment satisfies,
so ``pip install -e .`` in a working mmdet/mmseg environment installs nothing heavy. ``make install`` builds
the full pinned environment from nothing.
"""
from pathlib import Path

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    exec(Path('mmghost/version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='mmghost',
    version=read_version(),
    description='GhostNetV2 backbone for OpenMMLab detection and segmentation',
    long_description=Path('README.md').read_text() if Path('README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.8',
    packages=find_packages(include=['mmghost', 'mmghost.*']),
    install_requires=[
        'torch>=1.8',
        'mmengine>=0.7.1,<1.0.0',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmdet>=3.0.0,<3.4.0',
        'mmsegmentation>=1.0.0,<1.3.0',
        'ftfy',  # imported by mmseg at import time, not declared by it
        'regex',
        'pycocotools',
        'numpy',
    ],
    extras_require={
        'tests': ['pytest', 'hypothesis', 'timm>=1.0.11'],
        'deploy': ['onnx', 'onnxruntime'],
    },
    license='Apache License 2.0',
)
