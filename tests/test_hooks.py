"""Training hooks: NaN/Inf loss stop, rank consistency digest, CPU autocast wrapper."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from mmghost.engine import CPUAutocastOptimWrapper, FiniteLossHook, parameter_digest


def test_finite_loss_hook_names_the_iteration():
    runner = SimpleNamespace(iter=41, epoch=2)
    hook = FiniteLossHook()
    hook.after_train_iter(runner, 3, outputs=dict(loss=torch.tensor(1.5)))  # finite: nothing happens
    with pytest.raises(FloatingPointError, match=r'loss became nan at iteration 42 \(epoch 3, batch 4\)'):
        hook.after_train_iter(runner, 3, outputs=dict(loss=torch.tensor(float('nan')), loss_cls=torch.tensor(1.)))
    with pytest.raises(FloatingPointError, match='loss became inf'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(float('inf'))))


def test_parameter_digest_sees_a_one_ulp_change():
    model = nn.Linear(4, 3)
    before = parameter_digest(model)
    assert parameter_digest(model) == before
    with torch.no_grad():
        model.weight[0, 0] = torch.nextafter(model.weight[0, 0], torch.tensor(10.))
    assert parameter_digest(model) != before


def test_cpu_autocast_wrapper_runs_forward_in_bfloat16():
    model = nn.Linear(8, 8)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())
    assert model.weight.dtype == torch.float32


def test_cpu_autocast_wrapper_rejects_an_unknown_dtype():
    with pytest.raises(ValueError, match="got 'int8'"):
        CPUAutocastOptimWrapper(dtype='int8', optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))


def test_amp_on_cpu_trains_the_demo_in_bfloat16_without_nan(tmp_path):
    """--amp without a GPU: 200 iterations of the demo detector (64 px) under bfloat16 autocast, no NaN/Inf."""
    from mmghost.demo_data import make_detection_dataset
    from tools_helpers import ROOT, run_tool
    make_detection_dataset(str(tmp_path / 'data' / 'demo_coco'), num_train=8, num_val=2, seed=13)
    result = run_tool([ROOT / 'tools' / 'train.py', ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py',
                       '--amp', '--work-dir', tmp_path / 'amp', '--cfg-options', 'train_cfg.max_epochs=50',
                       'train_cfg.val_interval=1000', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                       'default_hooks.logger.interval=4', 'train_dataloader.dataset.pipeline.2.scale=(64,64)',
                       'default_hooks.checkpoint.interval=1000'], tmp_path, timeout=1200)
    log = result.stdout + result.stderr
    assert 'CPUAutocastOptimWrapper' in log
    assert 'Epoch(train) [50][4/4]' in log  # all 200 iterations ran; FiniteLossHook would have stopped a NaN
