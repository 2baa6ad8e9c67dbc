"""Training hooks: NaN/Inf loss stop, rank consistency digest, CPU autocast wrapper."""
import math
import os
import re
import subprocess
import sys
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


def test_cpu_autocast_wrapper_in_float16_skips_an_overflowing_step_and_backs_off_the_scale():
    torch.manual_seed(0)
    model = nn.Linear(8, 8)
    wrapper = CPUAutocastOptimWrapper(dtype='float16', loss_scale=dict(init_scale=2.**60),
                                      optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(4, 8))
    assert out.dtype == torch.float16
    wrapper.update_params(out.float().square().mean())  # 2**60 * loss overflows the fp16 backward
    assert torch.equal(model.weight, before)
    assert wrapper.state_dict()['loss_scaler']['scale'] == 2.**59
    wrapper.loss_scaler.update(2.**10)
    with wrapper.optim_context(model):
        out = model(torch.randn(4, 8))
    wrapper.update_params(out.float().square().mean())
    assert not torch.equal(model.weight, before)


def test_cpu_autocast_wrapper_in_float16_restores_its_loss_scale_on_resume():
    model = nn.Linear(8, 8)
    wrapper = CPUAutocastOptimWrapper(dtype='float16', loss_scale=dict(init_scale=2.**7, growth_interval=5),
                                      optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    for _ in range(7):  # five clean steps double the scale, two more advance the growth tracker
        with wrapper.optim_context(model):
            out = model(torch.randn(4, 8))
        wrapper.update_params(out.float().square().mean())
    resumed = CPUAutocastOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    resumed.load_state_dict(wrapper.state_dict())
    assert resumed.loss_scaler.get_scale() == 2.**8
    assert resumed.loss_scaler.state_dict() == wrapper.loss_scaler.state_dict()


def test_cpu_autocast_wrapper_in_bfloat16_has_no_loss_scaler_state():
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))
    assert wrapper.state_dict()['loss_scaler'] == {}


def test_cpu_autocast_wrapper_rejects_a_bad_loss_scale():
    with pytest.raises(TypeError, match="got 'static'"):
        CPUAutocastOptimWrapper(dtype='float16', loss_scale='static',
                                optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))


# The two kernel paths of CPU bfloat16: oneDNN's native bf16 kernels where the CPU has avx512_bf16/AMX
# (the default there), and the non-bf16 path forced by capping oneDNN at AVX2 (the default on other CPUs).
KERNEL_PATHS = {'default': {}, 'no-native-bf16': {'ONEDNN_MAX_CPU_ISA': 'AVX2'}}


def _train_demo_detector_200_iterations(tmp_path, config, *extra_args, env=None) -> str:
    """Train the demo detector at 64 px for 50 epochs of 4 iterations; return the log.

    At 64 px the stride-64 FPN level is one pixel wide: the input on which oneDNN's native bf16 kernels
    computed garbage weight gradients for the stride-2 extra conv (see mmghost/engine/autocast.py).
    """
    from mmghost.demo_data import make_detection_dataset
    from tools_helpers import ROOT, run_tool
    make_detection_dataset(str(tmp_path / 'data' / 'demo_coco'), num_train=8, num_val=2, seed=13)
    result = run_tool([ROOT / 'tools' / 'train.py', config, *extra_args,
                       '--work-dir', tmp_path / 'work', '--cfg-options', 'train_cfg.max_epochs=50',
                       'train_cfg.val_interval=1000', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                       'default_hooks.logger.interval=4', 'train_dataloader.dataset.pipeline.2.scale=(64,64)',
                       'default_hooks.checkpoint.interval=1000'], tmp_path, timeout=1200, env=env)
    log = result.stdout + result.stderr
    assert 'Epoch(train) [50][4/4]' in log  # all 200 iterations ran; FiniteLossHook would have stopped a NaN
    losses = [float(loss) for loss in re.findall(r'Epoch\(train\) +\[\d+\]\[4/4\].*? loss: ([0-9.]+)', log)]
    assert len(losses) == 50 and losses[-1] < 0.5 * losses[0], losses  # it learned: updates were not all skipped
    return log


def bf16_conv_kernels(env: dict) -> list:
    """The oneDNN convolution implementations that run a bfloat16-autocast conv forward and backward."""
    code = ('import torch\nconv = torch.nn.Conv2d(8, 8, 3, 2, 1)\n'
            'with torch.autocast("cpu", dtype=torch.bfloat16):\n    out = conv(torch.randn(1, 8, 9, 9))\n'
            'out.float().sum().backward()\n')
    result = subprocess.run([sys.executable, '-c', code], env=dict(os.environ, DNNL_VERBOSE='1', **env),
                            capture_output=True, text=True, check=True)
    return [line.split(',')[6] for line in result.stdout.splitlines()
            if ',exec,cpu,convolution,' in line and 'src:bf16' in line]


def test_forcing_the_non_bf16_path_leaves_no_native_bf16_conv():
    """The second kernel path is really different: capped at AVX2, no oneDNN bf16 convolution runs."""
    assert bf16_conv_kernels(KERNEL_PATHS['no-native-bf16']) == []


@pytest.mark.parametrize('path', KERNEL_PATHS)
def test_amp_on_cpu_trains_the_demo_in_bfloat16_with_finite_gradients(tmp_path, path):
    """--amp without a GPU: 200 iterations of the demo detector under bfloat16 autocast.

    Covers both kernel paths on every CPU: ``default`` is oneDNN's native bf16 kernels on a CPU with
    avx512_bf16/AMX (and the non-native path elsewhere); ``no-native-bf16`` forces the non-native path with
    ``ONEDNN_MAX_CPU_ISA=AVX2``. Every logged gradient norm must be finite, not only the loss.
    """
    from tools_helpers import ROOT
    log = _train_demo_detector_200_iterations(tmp_path, ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py',
                                              '--amp', env=KERNEL_PATHS[path])
    assert 'CPUAutocastOptimWrapper' in log
    norms = [float(norm) for norm in re.findall(r'grad_norm: ([^ ]+)', log)]
    assert len(norms) == 50 and all(math.isfinite(norm) for norm in norms), norms


def test_bfloat16_weight_gradient_of_a_stride_2_conv_on_a_one_pixel_wide_map_is_right():
    """The case oneDNN's native bf16 kernels got wrong (values up to 1e35) now matches float32."""
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3, stride=2, padding=1)
    images = torch.randn(2, 64, 3, 1)
    grad = torch.randn(2, 64, 2, 1)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(conv.parameters(), lr=0.1))
    with wrapper.optim_context(conv):
        out = conv(images)
    out.backward(grad)
    mixed = conv.weight.grad.clone()
    conv.weight.grad = None
    conv(images).backward(grad)
    assert out.dtype == torch.float32  # its input is narrower than its kernel: run in full precision
    torch.testing.assert_close(mixed, conv.weight.grad)


def test_convs_on_maps_larger_than_their_kernel_stay_in_bfloat16():
    conv = nn.Conv2d(8, 8, 3, stride=2, padding=1)
    wrapper = CPUAutocastOptimWrapper(optimizer=torch.optim.SGD(conv.parameters(), lr=0.1))
    with wrapper.optim_context(conv):
        assert conv(torch.randn(1, 8, 3, 3)).dtype == torch.bfloat16
        assert conv(torch.randn(1, 8, 2, 9)).dtype == torch.float32
        assert torch.is_autocast_enabled('cpu')  # restored after the full-precision conv
    assert not torch.is_autocast_enabled('cpu')


def test_float16_with_dynamic_loss_scaling_trains_the_demo_without_nan(tmp_path):
    """The numerics of --amp on a GPU (float16 autocast, dynamic loss scale), run on CPU for 200 iterations."""
    from mmghost.utils import load_checkpoint_file
    from tools_helpers import ROOT
    config = tmp_path / 'fp16.py'
    config.write_text(f"_base_ = '{ROOT / 'configs' / 'demo' / 'retinanet_ghostnetv2_demo.py'}'\n"
                      "optim_wrapper = dict(type='mmghost.CPUAutocastOptimWrapper', dtype='float16', loss_scale='dynamic')\n")
    _train_demo_detector_200_iterations(tmp_path, config)
    checkpoint = load_checkpoint_file(str(tmp_path / 'work' / 'epoch_50.pth'))
    scaler = checkpoint['optimizer']['loss_scaler']
    # GradScaler starts at 2**16 and, with its 2000-step growth interval, only halves in 200 steps: once per
    # fp16 overflow, and each overflow skips that step's update. A scale of at least 1 means at most 16 of the
    # 200 updates were skipped (constant overflows would halve it every step until the gradients vanish).
    assert scaler['growth_interval'] > 200
    skipped_updates = math.log2(2.0 ** 16 / scaler['scale'])  # GradScaler's default init_scale
    assert skipped_updates == int(skipped_updates) and 0 <= skipped_updates <= 16, scaler
    assert all(torch.isfinite(v).all() for v in checkpoint['state_dict'].values() if v.is_floating_point())
