"""The tools take what mmdet's and mmseg's own tools take: --cfg-options, --tta, --amp (and bad configs)."""
import argparse
import pickle
import re

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, TRANSFORMS, init_default_scope

from mmghost.demo_data import make_detection_dataset, make_segmentation_dataset
from cli_utils import amp_and_tta, load_config
from cli_utils.amp_and_tta import CPU_AMP_WRAPPER, enable_amp, enable_tta
from mmghost.apis import build_model
from tools_helpers import ROOT, run_tool

DET_DEMO = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
SEG_DEMO = ROOT / 'configs' / 'demo' / 'deeplabv3_ghostnetv2_demo.py'
ADE = ROOT / 'configs' / 'deeplabv3_ghostnetv2_ade20k.py'
COCO = ROOT / 'configs' / 'retinanet_ghostnetv2_coco.py'
YOLO = ROOT / 'configs' / 'yolov3_ghostnetv2_320_coco.py'
ALL_CONFIGS = sorted([*ROOT.glob('configs/*.py'), *ROOT.glob('configs/demo/*.py')])
TRAIN, TEST = ROOT / 'tools' / 'train.py', ROOT / 'tools' / 'test.py'


def options(*pairs: str) -> dict:
    """``--cfg-options`` parsed exactly as the tools parse them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *pairs]).cfg_options


# Keys that mmdet's own train.py merges into these configs, new nested keys included.
ACCEPTED_BY_MMDET = ('optim_wrapper.clip_grad.max_norm=35', 'randomness.diff_rank_seed=True',
                     'env_cfg.dist_cfg.timeout=1800', 'model.test_cfg.nms.iou_threshold=0.6',
                     'train_dataloader.dataset.pipeline.2.scale=(64,64)', 'resume=True')


def test_cfg_options_give_what_mmdets_merge_gives():
    cfg = load_config(str(COCO), options(*ACCEPTED_BY_MMDET), work_dir='w')
    reference = Config.fromfile(str(COCO))
    reference.merge_from_dict(options(*ACCEPTED_BY_MMDET))  # what mmdet's tools/train.py does
    reference.work_dir = 'w'
    assert cfg.to_dict() == reference.to_dict()
    assert 'clip_grad' not in Config.fromfile(str(COCO)).optim_wrapper  # the key was new
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35)


def test_cfg_options_set_a_key_below_none():
    """ADE20K's clip_grad=None: mmseg's own merge refuses a key below it; the tools make it a dict."""
    assert Config.fromfile(str(ADE)).optim_wrapper.clip_grad is None
    with pytest.raises(TypeError, match='clip_grad'):
        Config.fromfile(str(ADE)).merge_from_dict(options('optim_wrapper.clip_grad.max_norm=35'))
    cfg = load_config(str(ADE), options('optim_wrapper.clip_grad.max_norm=35', 'optim_wrapper.clip_grad.norm_type=2'))
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)


def test_unknown_top_level_key_names_the_nearest_keys():
    with pytest.raises(ValueError, match=re.escape(
            "'optim_wraper' is neither a key of the config nor a setting of mmengine's Runner; nearest "
            "existing keys: ['optim_wrapper']")):
        load_config(str(COCO), options('optim_wraper.optimizer.lr=1'))
    with pytest.raises(ValueError, match=re.escape(
            "nearest existing keys: ['test_dataloader', 'train_dataloader', 'val_dataloader']")):
        load_config(str(COCO), options('test_dataloder.batch_size=1'))
    with pytest.raises(ValueError, match='nearest existing keys: none'):
        load_config(str(COCO), options('zzzzzz=1'))


def test_a_key_through_a_number_or_past_a_list_is_refused():
    with pytest.raises(ValueError, match=re.escape("optim_wrapper.optimizer.lr is 0.01, so it has no 'x'")):
        load_config(str(COCO), options('optim_wrapper.optimizer.lr.x=1'))
    with pytest.raises(ValueError, match="train_dataloader.dataset.pipeline is a list of 5 items, so it has no '9'"):
        load_config(str(COCO), options('train_dataloader.dataset.pipeline.9.scale=(64,64)'))


def test_new_key_of_a_module_is_checked_by_the_module_when_built(tmp_path):
    """As with mmdet's tools, a misspelt argument inside a module config fails when the module is built."""
    make_detection_dataset(str(tmp_path / 'data' / 'demo_coco'), num_train=2, num_val=1, seed=1)
    result = run_tool([TRAIN, DET_DEMO, '--cfg-options', 'optim_wrapper.optimzer.lr=1'], tmp_path, check=False)
    assert result.returncode != 0 and "unexpected keyword argument 'optimzer'" in result.stderr


def test_config_of_another_codebase_is_refused(tmp_path):
    """docs/errors.md: a config for neither mmdet nor mmseg."""
    config = tmp_path / 'classifier.py'
    config.write_text("default_scope = 'mmpretrain'\nmodel = dict(type='ImageClassifier')\n")
    with pytest.raises(ValueError, match=re.escape(f"{config} sets default_scope='mmpretrain'; the tools serve "
                                                   "configs of ('mmdet', 'mmseg')")):
        load_config(str(config))


@pytest.mark.parametrize('wrapper', [dict(type='AmpOptimWrapper', loss_scale=512.),
                                     dict(type=CPU_AMP_WRAPPER, dtype='float16', loss_scale='dynamic')])
def test_amp_keeps_a_wrapper_that_is_already_amp(wrapper, monkeypatch):
    warnings = []
    monkeypatch.setattr(amp_and_tta, 'print_log', lambda message, **kwargs: warnings.append((message, kwargs['level'])))
    cfg = load_config(str(DET_DEMO), {'optim_wrapper': dict(wrapper, _delete_=True)})
    before = cfg.optim_wrapper.to_dict()
    enable_amp(cfg)
    assert cfg.optim_wrapper.to_dict() == before
    assert warnings == [(f"--amp: optim_wrapper is already an AMP wrapper ({wrapper['type']}); kept as it is", 30)]


def test_amp_converts_a_plain_wrapper_and_refuses_another_type():
    cfg = load_config(str(DET_DEMO))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if torch.cuda.is_available() else CPU_AMP_WRAPPER)
    cfg = load_config(str(DET_DEMO))
    cfg.optim_wrapper.type = 'ApexOptimWrapper'
    with pytest.raises(ValueError, match="optim_wrapper.type is 'ApexOptimWrapper'"):
        enable_amp(cfg)


def test_amp_on_a_float16_config_trains_in_float16(tmp_path):
    """tools/train.py --amp with a float16 CPU autocast wrapper in the config: it stays float16 (the
    bfloat16 default has no loss scaler state; float16 saves its scale)."""
    make_detection_dataset(str(tmp_path / 'data' / 'demo_coco'), num_train=2, num_val=1, seed=2)
    config = tmp_path / 'fp16.py'
    config.write_text(f'_base_ = {str(DET_DEMO)!r}\n'
                      f"optim_wrapper = dict(type='{CPU_AMP_WRAPPER}', dtype='float16', loss_scale='dynamic')\n")
    result = run_tool([TRAIN, config, '--amp', '--work-dir', tmp_path / 'work', '--cfg-options', *NO_VAL_1_EPOCH],
                      tmp_path)
    assert 'already an AMP wrapper' in result.stdout + result.stderr
    checkpoint = torch.load(tmp_path / 'work' / 'epoch_1.pth', weights_only=False)
    assert checkpoint['optimizer']['loss_scaler']['scale'] > 0


NO_VAL_1_EPOCH = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                  'train_dataloader.dataset.pipeline.2.scale=(64,64)', 'val_cfg=None', 'val_dataloader=None',
                  'val_evaluator=None']


@pytest.mark.parametrize('config', ALL_CONFIGS, ids=lambda path: path.name)
def test_tta_builds_for_every_config(config):
    cfg = load_config(str(config))
    enable_tta(cfg)
    assert cfg.model.type in ('DetTTAModel', 'SegTTAModel')
    init_default_scope(cfg.default_scope)
    cfg.model.module.backbone.init_cfg = None
    assert MODELS.build(cfg.model).module.backbone.__class__.__name__ == 'GhostNetV2'
    for transform in cfg.test_dataloader.dataset.pipeline:
        TRANSFORMS.build(transform)


def test_tta_without_tta_settings_uses_mmdets_defaults():
    assert 'tta_model' not in Config.fromfile(str(YOLO)) and 'tta_pipeline' not in Config.fromfile(str(YOLO))
    cfg = load_config(str(YOLO))
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    enable_tta(cfg)
    assert cfg.model.type == 'DetTTAModel' and cfg.model.tta_cfg.nms.iou_threshold == 0.5
    tta = cfg.test_dataloader.dataset.pipeline
    assert tta[:-1] == test_pipeline[:-1] and tta[-1].type == 'TestTimeAug'
    flips, (pack, ) = tta[-1].transforms
    assert [flip.prob for flip in flips] == [0., 1.]
    assert pack.type == 'PackDetInputs' and {'flip', 'flip_direction'} <= set(pack.meta_keys)


IN_PROCESS_LOADING = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def yolov3_on_demo_data(path) -> str:
    """The shipped YOLOv3 config pointed at the demo dataset, as a user's config would."""
    classes = ('circle', 'rectangle', 'triangle', 'cross')
    config = path / 'yolov3_demo.py'
    config.write_text(
        f'_base_ = {str(YOLO)!r}\n'
        f'classes = {classes!r}\n'
        'model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=4))\n'
        "test_dataloader = dict(dataset=dict(data_root='data/demo_coco/', metainfo=dict(classes=classes),\n"
        "    ann_file='annotations/instances_val.json', data_prefix=dict(img='val/')))\n"
        "test_evaluator = dict(ann_file='data/demo_coco/annotations/instances_val.json')\n")
    return str(config)


def random_checkpoint(config: str, path) -> str:
    """A checkpoint of the config's model with random weights."""
    model = build_model(load_config(config))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def test_tta_test_run_of_yolov3_without_tta_settings(tmp_path):
    make_detection_dataset(str(tmp_path / 'data' / 'demo_coco'), num_train=1, num_val=2, seed=4)
    config = yolov3_on_demo_data(tmp_path)
    checkpoint = random_checkpoint(config, tmp_path / 'yolo.pth')
    # random weights: keep every box, so that the COCO evaluation has detections to score
    result = run_tool([TEST, config, checkpoint, '--tta', '--work-dir', tmp_path / 'work', '--out',
                       tmp_path / 'out.pkl', '--cfg-options', 'test_dataloader.dataset.pipeline.1.scale=(64,64)',
                       *IN_PROCESS_LOADING, 'model.test_cfg.score_thr=0', 'model.test_cfg.conf_thr=0'], tmp_path)
    log = result.stdout + result.stderr
    assert 'the config has no tta_model' in log and 'the config has no tta_pipeline' in log
    assert 'coco/bbox_mAP' in log
    with open(tmp_path / 'out.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 2 and all(len(p['pred_instances']['bboxes']) > 0 for p in predictions)
    assert all(p['flip'] is False for p in predictions)  # DetTTAModel keeps the unflipped sample's metadata


def test_tta_test_run_of_the_deeplabv3_demo(tmp_path):
    make_segmentation_dataset(str(tmp_path / 'data' / 'demo_ade' / 'ADEChallengeData2016'), num_train=1, num_val=2,
                              seed=4)
    checkpoint = random_checkpoint(str(SEG_DEMO), tmp_path / 'seg.pth')
    result = run_tool([TEST, SEG_DEMO, checkpoint, '--tta', '--work-dir', tmp_path / 'work', '--cfg-options',
                       *IN_PROCESS_LOADING], tmp_path)
    log = result.stdout + result.stderr
    assert 'per class results' in log and 'mIoU' in log


def test_image_demo_example_names_the_last_demo_checkpoint():
    example = re.search(r'epoch_(\d+)\.pth', (ROOT / 'demo' / 'image_demo.py').read_text())
    assert int(example.group(1)) == Config.fromfile(str(DET_DEMO)).train_cfg.max_epochs
