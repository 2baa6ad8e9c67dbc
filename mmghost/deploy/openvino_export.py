"""OpenVINO IR (``.xml`` + ``.bin``) from an exported ONNX file, in fp32.

OpenVINO reads the ONNX file with its own front end (``Core.read_model``), which keeps the file's ``mmghost``
metadata under ``rt_info['framework']``; ``save_model`` writes it into the IR. Not ``openvino.convert_model``
(its converter starts telemetry), and not OpenVINO's default ``compress_to_fp16=True``, which stores the
weights in fp16.
"""


def export_openvino(onnx_path: str, xml_path: str) -> None:
    """Write the OpenVINO IR of an ONNX file: ``xml_path`` and the ``.bin`` beside it, weights in fp32.

    Args:
        onnx_path: The ``.onnx`` file (``export_onnx`` or ``export_end_to_end``).
        xml_path: The ``.xml`` file to write.
    """
    if not str(xml_path).endswith('.xml'):
        raise ValueError(f'an OpenVINO IR file ends with .xml, got {xml_path!r}')
    import openvino as ov  # the optional [deploy] extra
    ov.save_model(ov.Core().read_model(str(onnx_path)), str(xml_path), compress_to_fp16=False)
