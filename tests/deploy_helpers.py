"""What the deployment tests share: the demo models made trained-ish, PyTorch's predictions to compare with,
the generated demo images, and the runner that makes torch and the OpenMMLab packages unimportable."""
from typing import List, Optional

import cv2

import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from cli_utils import load_config
from mmghost.apis import build_model
from tools_helpers import ROOT

DETECTORS = ['demo/retinanet_ghostnetv2_demo.py', 'yolov3_ghostnetv2_320_coco.py', 'rtmdet_ghostnetv2_coco.py']
SEGMENTOR = 'demo/deeplabv3_ghostnetv2_demo.py'
# Runs a script with torch and the OpenMMLab packages made unimportable, and fails it if Python starts a
# process (pip, a converter's console script) or opens a network connection.
WITHOUT_TORCH = '''
import runpy, sys
FORBIDDEN = ('subprocess.Popen', 'os.system', 'os.exec', 'os.posix_spawn', 'os.spawn', 'socket.connect')
def audit(event, args):
    if event.startswith(FORBIDDEN):
        raise RuntimeError(f'the runtime-only demo must not start {event} {args!r}')
sys.addaudithook(audit)
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'torchvision', 'mmcv', 'mmdet', 'mmseg', 'mmengine', 'mmghost'):
            raise ImportError(name + ' is blocked')
sys.meta_path.insert(0, Blocker())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


CLASSIFIERS = ('retina_cls', 'rtm_cls', 'convs_pred', 'conv_seg')  # the heads' class-score convs


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` in eval mode with random BatchNorm statistics and affine parameters, so folding matters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)
            module.bias.data.uniform_(-0.5, 0.5, generator=generator)
    return model.eval()


def trained_ish(model: nn.Module, images: list, seed: int = 0, logit_std: float = 0.5) -> nn.Module:
    """Give a freshly initialised model the score spread of a trained one, without training.

    At initialisation every class score sits at the prior probability (below ``score_thr``) and features
    barely vary across positions, so there would be nothing to compare. Here the head's convs are re-drawn
    (Kaiming normal, biases in [-1, 1]) except the box-regression outputs, which keep boxes near their
    priors (RTMDet's distances, which start at zero, become 0.5 to 3 strides); every BatchNorm takes the
    statistics of ``images`` (pipeline outputs, cropped to a common size); and the class-score convs are
    scaled so that their logits vary with a standard deviation of ``logit_std`` over these images.
    """
    torch.manual_seed(seed)
    head = model.bbox_head if hasattr(model, 'bbox_head') else model.decode_head
    kept_rows = {}
    for name, module in head.named_modules():
        if isinstance(module, nn.Conv2d) and name.startswith('rtm_reg'):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.uniform_(module.bias, 0.5, 3)
        elif isinstance(module, nn.Conv2d) and not name.startswith('retina_reg'):
            # YOLOv3 predicts x, y, w, h, objectness, classes per anchor: keep the x, y, w, h rows
            rows = (torch.arange(module.out_channels) % head.num_attrib >= 4 if name.startswith('convs_pred')
                    else torch.ones(module.out_channels, dtype=torch.bool))
            kept_rows[name] = rows
            with torch.no_grad():
                module.weight[rows] = nn.init.kaiming_normal_(torch.empty_like(module.weight))[rows]
                if module.bias is not None:
                    module.bias[rows] = torch.empty_like(module.bias).uniform_(-1, 1)[rows]
    classifiers = {name: m for name, m in head.named_modules() if name.split('.')[0] in CLASSIFIERS
                   and isinstance(m, nn.Conv2d)}
    logits = {name: [] for name in classifiers}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: logits[name].append(
        (o - m.bias[:, None, None])[:, kept_rows[name]].flatten())) for name, m in classifiers.items()]
    batch_norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in batch_norms:
            bn.reset_running_stats()
            bn.momentum = None  # the statistics of the batch below
            bn.train()
        height, width = min(i.shape[1] for i in images), min(i.shape[2] for i in images)
        batch = [image[:, :height, :width] for image in images]  # one batch: statistics over all images
        model._forward(model.data_preprocessor(dict(inputs=batch), False)['inputs'])
        for name, conv in classifiers.items():
            conv.weight[kept_rows[name]] *= logit_std / torch.cat(logits[name]).std()
    for hook in hooks:
        hook.remove()
    return model.eval()


def build_test_pipeline(cfg) -> Compose:
    init_default_scope(cfg.default_scope)
    return Compose([t for t in cfg.test_dataloader.dataset.pipeline if not t['type'].endswith('LoadAnnotations')])


def torch_predict(model: nn.Module, pipeline: Compose, path: str, **metainfo):
    """PyTorch ``test_step`` (data preprocessor, ``predict``, rescaling) on one image file."""
    data = pipeline(dict(img_path=str(path), img_id=0))
    data['data_samples'].set_metainfo(metainfo)
    with torch.no_grad():
        return model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))[0], data




def assert_same_detections(actual: dict, expected) -> None:
    """Same detections: each expected one has an unused actual one with its label, box (1e-3 relative)
    and score (1e-4); nearly equal scores may come in either order."""
    boxes, scores, labels = (expected.bboxes.numpy(), expected.scores.numpy(), expected.labels.numpy())
    assert len(actual['labels']) == len(labels)
    unused = set(range(len(labels)))
    for box, score, label in zip(boxes, scores, labels):
        match = [j for j in sorted(unused) if actual['labels'][j] == label
                 and abs(actual['scores'][j] - score) <= 1e-4
                 and np.all(np.abs(actual['bboxes'][j] - box) <= 1e-3 * np.maximum(np.abs(box), 1))]
        assert match, f'no onnxruntime detection for {label} {score} {box}'
        unused.remove(match[0])


def trained_model(config: str, images: list, cfg_options: Optional[dict] = None) -> tuple:
    """``config``'s model made trained-ish on ``images`` (paths), with its config and test pipeline."""
    cfg = load_config(str(ROOT / 'configs' / config), cfg_options)
    torch.manual_seed(0)
    model, pipeline = build_model(cfg), build_test_pipeline(cfg)
    trained_ish(model, [pipeline(dict(img_path=str(p), img_id=0))['inputs'] for p in images])
    return cfg, model, pipeline


def detections_match_pytorch(deployed, model: nn.Module, pipeline: Compose, images: list) -> List[int]:
    """Assert that ``mmghost_runtime.detect`` on the deployed file gives PyTorch's detections on each image
    (:func:`assert_same_detections`); return how many each image has."""
    import mmghost_runtime
    found = []
    for path in images:
        expected, _ = torch_predict(model, pipeline, path)
        actual = mmghost_runtime.detect(deployed, cv2.imread(str(path)))
        assert_same_detections(actual, expected.pred_instances)
        found.append(len(actual['labels']))
    return found
