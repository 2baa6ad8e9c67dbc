"""The interpreter running this suite holds exactly the low end of the ranges that setup.py declares
(scripts/install_env.sh compat)."""
import sys

import mmcv
import mmdet
import mmengine
import mmseg
import numpy
import torch
import torchvision


def test_versions_are_the_low_end_of_the_declared_ranges():
    assert sys.version_info[:2] == (3, 11)
    assert torch.__version__.split('+')[0] == '2.0.1'
    assert torchvision.__version__.split('+')[0] == '0.15.2'
    assert int(numpy.__version__.split('.')[0]) == 1
    assert (mmengine.__version__, mmcv.__version__) == ('0.8.0', '2.0.1')
    assert (mmdet.__version__, mmseg.__version__) == ('3.1.0', '1.1.0')


def test_mmcv_compiled_ops_run():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]  # box 1 overlaps box 0 with IoU 0.81
