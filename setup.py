"""Install mmghost.

mmghost is a plugin that goes into an environment which already runs mmdet and/or mmsegmentation, so it
declares ranges of the versions it works with, never pins. There, ``pip install -e ".[mmdet]"`` (or
``[mmseg]``, ``[all]``) installs mmghost and only what is missing: it leaves torch, mmcv, mmengine, mmdet and
mmsegmentation as they are when their versions lie in the ranges below, and does not require torchvision
(tests/test_install_requirements.py checks this with pip's resolver against simulated installed stacks).
The exact versions of the two tested stacks, the low and the high end of these ranges, are only in
scripts/install_env.sh; ``make install`` builds both from nothing.
"""
from pathlib import Path

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    exec(Path('mmghost/version.py').read_text(), namespace)
    return namespace['__version__']


# torch: tested at 2.0.1 (low end) and 2.14.1 (high end); no upper bound, so a plugin never downgrades torch.
TORCH = ['torch>=2.0.0']
# mmengine: tested at 0.8.0 and 0.10.7; mmdet 3.x accepts >= 0.7.1, mmdet and mmseg both refuse >= 1.0.0.
MMENGINE = ['mmengine>=0.8.0,<1.0.0']
# mmcv: tested at 2.0.1 and 2.1.0; mmdet 3.1 / mmseg 1.1 accept < 2.1.0, mmdet 3.2-3.3 / mmseg 1.2 < 2.2.0.
MMCV = ['mmcv>=2.0.0,<2.2.0']
# mmdet: tested at 3.1.0 and 3.3.0, the last 3.x release.
MMDET = ['mmdet>=3.1.0,<3.4.0', 'pycocotools']
# mmsegmentation: tested at 1.1.0 and 1.2.2, the last 1.x release; it imports ftfy and regex undeclared.
MMSEG = ['mmsegmentation>=1.1.0,<1.3.0', 'ftfy', 'regex']

setup(
    name='mmghost',
    version=read_version(),
    description='GhostNetV2 backbone for OpenMMLab detection and segmentation',
    long_description=Path('README.md').read_text() if Path('README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.8',
    # mmghost_runtime: NumPy, OpenCV and a runtime only (no torch), for the devices that run exported files
    packages=find_packages(include=['mmghost', 'mmghost.*', 'mmghost_runtime', 'mmghost_runtime.*']),
    install_requires=TORCH + MMENGINE + MMCV + [
        'numpy',
        'safetensors',  # .safetensors checkpoints (timm's hub weights) for init_cfg Pretrained
    ],
    extras_require={
        # mmghost registers into whichever of mmdet / mmseg is installed; at least one is needed
        'mmdet': MMDET,
        'mmseg': MMSEG,
        'all': MMDET + MMSEG,
        'tests': ['pytest', 'hypothesis', 'timm>=1.0.11'],
        # OpenVINO: tested at 2026.4.1 (reads the ONNX files; fp32 IR)
        'deploy': ['onnx', 'onnxruntime', 'openvino>=2026.4'],
        # ncnn (files converted by pnnx), MNN and LiteRT (files converted by litert-torch): tested at ncnn
        # 1.0.20261020 with pnnx 20261020, MNN 3.6.1, litert-torch 0.10.0 with ai-edge-litert 2.3.0
        'deploy-mobile': ['ncnn>=1.0.20261020', 'pnnx>=20261020', 'MNN>=3.6.1', 'litert-torch>=0.10.0',
                          'ai-edge-litert>=2.3.0'],
    },
    license='Apache License 2.0',
)
