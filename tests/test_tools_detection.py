"""tools/train.py, tools/test.py and tools/dist_train.sh on a small demo COCO dataset, on CPU."""
import pickle

import pytest

from mmghost.demo_data import make_detection_dataset
from mmghost.utils import load_checkpoint_file
from tools_helpers import ROOT, free_port, run_tool

CONFIG = ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'
TRAIN, TEST = ROOT / 'tools' / 'train.py', ROOT / 'tools' / 'test.py'
COCO_LINES = ('Average Precision', 'Average Recall')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A scratch directory with data/demo_coco of 16 train and 8 val images (the config's data_root)."""
    path = tmp_path_factory.mktemp('det')
    make_detection_dataset(str(path / 'data' / 'demo_coco'), num_train=16, num_val=8, seed=5)
    return path


@pytest.fixture(scope='module')
def trained(workspace):
    """One epoch (2 iterations of 8 images) of the demo config."""
    work_dir = workspace / 'work_dirs' / 'one_epoch'
    run_tool([TRAIN, CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
              'train_cfg.val_interval=1'], workspace)
    return work_dir


def test_train_writes_a_checkpoint_and_test_prints_the_coco_table(workspace, trained):
    checkpoint = trained / 'epoch_1.pth'
    assert checkpoint.is_file()
    assert (trained / 'last_checkpoint').read_text().strip() == str(checkpoint)
    # after two iterations every score is below the config's 0.05: keep them all so there is a table
    keep_all = ['--cfg-options', 'model.test_cfg.score_thr=0']
    result = run_tool([TEST, CONFIG, checkpoint, '--work-dir', workspace / 'test_out', '--out',
                       workspace / 'det.pkl', '--show-dir', 'shown', *keep_all], workspace)
    log = result.stdout + result.stderr
    table = [line for line in log.splitlines() if line.strip().startswith(COCO_LINES)]
    assert len(table) == 12, log[-3000:]
    assert 'coco/bbox_mAP_50' in log
    with open(workspace / 'det.pkl', 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 8 and 'pred_instances' in predictions[0]
    assert len(list((workspace / 'test_out').rglob('shown/*.jpg'))) == 8
    fused = run_tool([TEST, CONFIG, checkpoint, '--work-dir', workspace / 'test_fused', '--fuse-conv-bn', *keep_all],
                     workspace)
    fused_log = fused.stdout + fused.stderr
    assert 'FuseConvBNHook: BatchNorm folded' in fused_log
    # deploy mode: the same COCO figures, up to float rounding of scores near thresholds
    assert coco_figures(fused_log) == pytest.approx(coco_figures(log), abs=2e-3)


def coco_figures(log: str) -> list:
    line = next(line for line in log.splitlines() if 'bbox_mAP_copypaste' in line)
    return [float(x) for x in line.split('bbox_mAP_copypaste:')[1].split()]


def test_image_demo_draws_the_predictions(workspace, trained):
    image = workspace / 'data' / 'demo_coco' / 'val' / '000001.jpg'
    run_tool([ROOT / 'demo' / 'image_demo.py', image, CONFIG, trained / 'epoch_1.pth', '--out-dir', 'outputs',
              '--score-thr', '0'], workspace)
    drawn = workspace / 'outputs' / 'vis' / '000001.jpg'
    assert drawn.is_file() and (workspace / 'outputs' / 'preds' / '000001.json').is_file()
    import cv2
    assert cv2.imread(str(drawn)).shape == cv2.imread(str(image)).shape
    assert not (cv2.imread(str(drawn)) == cv2.imread(str(image))).all()  # something was drawn


def test_resume_continues_iterations_and_optimizer_state(workspace, trained):
    work_dir = workspace / 'work_dirs' / 'resumed'
    work_dir.mkdir(parents=True)
    (work_dir / 'epoch_1.pth').write_bytes((trained / 'epoch_1.pth').read_bytes())
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    result = run_tool([TRAIN, CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                       'train_cfg.max_epochs=2'], workspace)
    assert 'resumed epoch: 1, iter: 2' in result.stdout + result.stderr
    first = load_checkpoint_file(str(work_dir / 'epoch_1.pth'))
    second = load_checkpoint_file(str(work_dir / 'epoch_2.pth'))
    assert (first['meta']['iter'], second['meta']['iter']) == (2, 4)
    steps = {int(s['step']) for s in second['optimizer']['state'].values()}
    assert steps == {4}  # AdamW's step count went on from the resumed state, not from zero


def test_two_process_cpu_training_keeps_ranks_identical(workspace):
    work_dir = workspace / 'work_dirs' / 'ddp'
    result = run_tool([ROOT / 'tools' / 'dist_train.sh', CONFIG, 2, '--work-dir', work_dir, '--cfg-options',
                       'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4'], workspace,
                      env=dict(PORT=str(free_port())))
    log = result.stdout + result.stderr
    assert 'process 1/2 runs DDP on CPU with gloo' in log or 'process 0/2 runs DDP on CPU with gloo' in log
    assert 'parameters are bit-identical on all 2 rank(s)' in log
    assert (work_dir / 'epoch_1.pth').is_file()


def test_missing_config_is_named(workspace):
    result = run_tool([TRAIN, 'configs/nope.py'], workspace, check=False)
    assert result.returncode != 0 and "config file 'configs/nope.py' does not exist" in result.stderr


def test_unknown_cfg_option_is_named(workspace):
    result = run_tool([TRAIN, CONFIG, '--cfg-options', 'optim_wraper.optimizer.lr=1'], workspace, check=False)
    assert result.returncode != 0
    assert "--cfg-options key 'optim_wraper.optimizer.lr': 'optim_wraper' is neither a key of the config nor a " \
        "setting of mmengine's Runner; nearest existing keys: ['optim_wrapper']" in result.stderr


def test_new_argument_of_a_module_is_checked_by_the_module(workspace):
    """train_cfg is a module config (it has a type): a misspelt argument is refused when it is built."""
    result = run_tool([TRAIN, CONFIG, '--cfg-options', 'train_cfg.max_epoch=1'], workspace, check=False)
    assert result.returncode != 0 and "unexpected keyword argument 'max_epoch'" in result.stderr
