"""The real COCO/ADE20K configs push demo data through their full training pipelines, unchanged."""
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, MODELS, init_default_scope

from mmghost.demo_data import DETECTION_CLASSES, make_detection_dataset, make_segmentation_dataset
from tools_helpers import ROOT


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('real')
    make_detection_dataset(str(root / 'coco'), num_train=4, num_val=2, seed=1)
    make_segmentation_dataset(str(root / 'ade'), num_train=4, num_val=2, seed=1)
    return root


def batch_through(cfg: Config, dataset_cfg: dict, size: int = 2):
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(size)])
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    return preprocessor(batch, True)


@pytest.mark.parametrize('config', ['retinanet_ghostnetv2_coco.py', 'yolov3_ghostnetv2_416_coco.py'])
def test_detection_train_pipeline(data, config):
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    dataset = cfg.train_dataloader.dataset
    dataset = dataset.get('dataset', dataset)  # YOLOv3 wraps it in a RepeatDataset
    dataset.update(data_root=str(data / 'coco') + '/', ann_file='annotations/instances_train.json',
                   data_prefix=dict(img='train/'), metainfo=dict(classes=DETECTION_CLASSES))
    out = batch_through(cfg, dataset)
    inputs = out['inputs']
    assert inputs.dtype == torch.float32 and inputs.shape[1] == 3 and inputs.shape[-1] % 32 == 0
    if 'retinanet' in config:  # Resize to (1333, 800): our images are at most 1.6:1, so the short side is 800
        assert all(min(s.img_shape) == 800 for s in out['data_samples'])
    assert all(len(s.gt_instances.bboxes) > 0 for s in out['data_samples'])


def test_segmentation_train_pipeline(data):
    cfg = Config.fromfile(str(ROOT / 'configs' / 'deeplabv3_ghostnetv2_ade20k.py'))
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(data / 'ade'))
    out = batch_through(cfg, dataset)
    assert out['inputs'].shape == (2, 3, 512, 512)  # RandomCrop to the 512x512 crop size
    labels = torch.stack([s.gt_sem_seg.data for s in out['data_samples']])
    assert labels.shape == (2, 1, 512, 512)
    assert set(labels.unique().tolist()) <= {0, 1, 2, 3, 255}  # reduce_zero_label: "other" -> 255
