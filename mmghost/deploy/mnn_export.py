"""MNN files from ONNX files, with MNN's converter module (fp32 weights; any input size where the ONNX file
takes any).

The converter is called as the module function ``_tools.mnnconvert``: MNN's ``mnnconvert`` console script
and ``MNN.tools`` import a usage logger that runs ``pip install -U`` of a logging SDK and sends usage
records over the network.
"""
import os.path as osp


def export_mnn(onnx_path: str, mnn_path: str) -> None:
    """Convert ``onnx_path`` to the MNN file ``mnn_path``."""
    import _tools  # the optional [deploy-mobile] extra (MNN); never MNN.tools, see above
    # the converter takes MNN's own options as an argument vector: framework, source, target, tag
    options = dict(f='ONNX', modelFile=onnx_path, MNNModel=mnn_path, bizCode='mmghost')
    argv = ['mnnconvert'] + [item for name, value in options.items()
                             for item in ('-' * min(len(name), 2) + name, value)]
    converted = _tools.mnnconvert(argv)
    if not converted or not osp.isfile(mnn_path):
        raise RuntimeError(f'MNN could not convert {onnx_path!r} (see its messages above)')
