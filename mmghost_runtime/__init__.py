"""Run files written by ``tools/deployment/export.py`` with NumPy, OpenCV and one runtime, without PyTorch or
the OpenMMLab packages: onnxruntime, OpenVINO, ncnn, MNN or LiteRT.

End-to-end files (onnxruntime, OpenVINO) hold pre-processing, decoding and NMS; network files (ncnn, MNN,
LiteRT, and ``--part heads`` ONNX files) hold the network only, and :mod:`.detection` / :mod:`.segmentation`
do the rest in NumPy, as mmdet's and mmseg's ``predict`` do. Nothing here imports torch.
"""
from .backends import BACKENDS, DeployedModel, open_model
from .predict import detect, segment

__all__ = ['BACKENDS', 'DeployedModel', 'detect', 'open_model', 'segment']
