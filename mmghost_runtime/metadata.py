"""The ``mmghost`` metadata of a deployed file: in the ONNX file (and its OpenVINO IR) for onnxruntime and
OpenVINO, in ``FILE.json`` beside the file for the runtimes whose formats hold none (ncnn, MNN, LiteRT)."""
import json
import os.path as osp
from typing import Optional

METADATA_KEY = 'mmghost'


def sidecar_path(path: str) -> str:
    """``FILE.json``: the metadata of a file in a format without a metadata field."""
    return f'{path}.json'


def parse_metadata(text: Optional[str], path: str, required: bool) -> Optional[dict]:
    """The metadata JSON ``text`` read from ``path``; None where there is none and it is not ``required``."""
    if not text and not required:
        return None
    if not text:
        raise ValueError(f'{path!r} has no mmghost metadata: write it with tools/deployment/export.py')
    return json.loads(text)


def read_sidecar(path: str, required: bool) -> Optional[dict]:
    """The metadata in ``FILE.json`` beside ``path``, or None where it is missing and not ``required``."""
    sidecar = sidecar_path(path)
    if not osp.isfile(sidecar):
        if required:
            raise ValueError(f'{path!r} has no mmghost metadata: {sidecar!r} is missing (written beside it by '
                             'tools/deployment/export.py)')
        return None
    with open(sidecar) as f:
        return parse_metadata(f.read(), sidecar, required)
