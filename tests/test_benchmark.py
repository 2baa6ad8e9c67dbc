"""tools/analysis_tools/benchmark (``python -m tools.analysis_tools.benchmark``): the twins it builds, and a
smoke run of every case and mode (tiny sizes, one run each; timings are not checked, numerics and
completeness are)."""
import json
from types import ModuleType

import pytest
import torch

from mmghost.deploy import export_network, export_onnx
from tools_helpers import ROOT, import_tool, run_tool

PACKAGE = 'tools.analysis_tools.benchmark'
CASES = ['backbone', 'backbone-320', 'RetinaNet', 'YOLOv3-320', 'YOLOv3-416', 'DeepLabV3 OS8', 'DeepLabV3 OS16',
         'RTMDet']


def bench(module: str) -> ModuleType:
    """A module of the benchmark package.

    Args:
        module: The module's name in the package, e.g. ``'timing'``.
    """
    return import_tool(f'{PACKAGE}.{module}')


class TwoConvs(torch.nn.Module):
    """Two convolutions, their outputs concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.second = torch.nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.first(x)
        return torch.cat([y, self.second(y)], 1)


class StridedConvs(torch.nn.Module):
    """A stride-2 conv with PyTorch's padding (LiteRT pads by a PAD of its own) and a conv on its output."""

    def __init__(self) -> None:
        super().__init__()
        self.down = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv = torch.nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.down(x)
        return torch.cat([y, self.conv(y)], 1)


def test_litert_operators_cut_out_compute_what_they_compute_in_the_file(tmp_path):
    """The LiteRT profile's units: a PAD goes with the conv it feeds; each unit's file, given the values of a
    run of the whole file, computes the same output as the whole file."""
    from ai_edge_litert.interpreter import Interpreter
    litert_ops = bench('litert_ops')
    path = export_network(StridedConvs().eval(), None, 'litert', str(tmp_path / 'strided.onnx'), (64, 96))
    content = open(path, 'rb').read()
    graph = litert_ops.LiteRTGraph(content)
    units = graph.units()
    assert [(op_type, [graph.op_type(op) for op in ops]) for op_type, ops in units] == [
        ('TRANSPOSE', ['TRANSPOSE']), ('CONV_2D', ['PAD', 'CONV_2D']), ('CONV_2D', ['CONV_2D']),
        ('CONCATENATION', ['CONCATENATION']), ('TRANSPOSE', ['TRANSPOSE'])]
    whole = litert_ops.run_keeping_tensors(content, torch.rand(1, 3, 64, 96).numpy())
    for op_type, ops in units:
        file, inputs = graph.cut(ops)
        part = Interpreter(model_content=file)
        part.allocate_tensors()
        assert len(part.get_input_details()) == len(inputs) == (2 if op_type == 'CONCATENATION' else 1)
        for detail, tensor in zip(part.get_input_details(), inputs):
            part.set_tensor(detail['index'], whole.get_tensor(tensor))
        part.invoke()
        torch.testing.assert_close(part.get_tensor(part.get_output_details()[0]['index']),
                                   whole.get_tensor(ops[-1].outputs[0]), rtol=1e-5, atol=1e-6)
    empty = Interpreter(model_content=graph.empty())
    empty.allocate_tensors()
    assert [d['shape'].tolist() for d in empty.get_input_details()] == [[1, 3, 64, 96]]


def test_openvino_profile_counts_each_executed_node_once_per_run(tmp_path):
    path = str(tmp_path / 'two_convs.onnx')
    images = torch.rand(1, 3, 64, 96)
    export_onnx(TwoConvs().eval(), images, path, dynamic=False)
    ops = bench('profiles').openvino_profile(path, images, threads=1, runs=3)
    assert ops['Convolution']['calls'] == 2 and ops['Concat']['calls'] == 1
    assert all(op['ms'] >= 0 for op in ops.values()) and ops['Convolution']['ms'] > 0


@pytest.mark.parametrize('runtime, calls, conv', [
    # the first conv's output goes to a Split for its two readers
    ('ncnn', dict(Convolution=2, Split=1, Concat=1), 'Convolution'),
    # MNN copies each input of the Concat into the output by a Raster
    ('mnn', dict(Convolution=2, Raster=2), 'Convolution'),
    # litert-torch: NCHW in and out by a TRANSPOSE each; the convs' padding is in the conv (SAME)
    ('litert', dict(TRANSPOSE=2, CONV_2D=2, CONCATENATION=1), 'CONV_2D'),
])
def test_mobile_runtime_profiles_count_each_operator_once_per_run(tmp_path, runtime, calls, conv):
    """ncnn's layer-by-layer extraction, MNN's callbacks, LiteRT's operators cut out: every operator of the file,
    once per run."""
    images = torch.rand(1, 3, 64, 96)
    path = export_network(TwoConvs().eval(), None, runtime, str(tmp_path / 'two_convs.onnx'), (64, 96))
    ops = getattr(bench('profiles'), f'{runtime}_profile')(path, images, threads=1, runs=3)
    assert {op: entry['calls'] for op, entry in ops.items()} == calls
    assert all(op['ms'] >= 0 for op in ops.values()) and ops[conv]['ms'] > 0


def test_retinanet_twin_differs_only_in_the_backbone():
    case = next(c for c in bench('cases').cases(smoke=True) if c.name == 'RetinaNet')
    ours, twin = case.ours.build(), case.twin.build()
    assert type(twin.backbone).__name__ == 'MobileNetV2' and twin.backbone.out_indices == (2, 4, 7)
    assert list(twin.neck.in_channels) == [32, 96, 1280]
    images = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        strides = [64 // f.shape[-2] for f in twin.backbone(images)]
        assert strides == [64 // f.shape[-2] for f in ours.backbone(images)] == [8, 16, 32]
    # frozen as far: GhostNetV2 freezes the stem and the stride-4 stages (blocks.0-2), MobileNetV2 layer1-2
    assert not any(p.requires_grad for p in twin.backbone.layer2.parameters())
    assert all(p.requires_grad for p in twin.backbone.layer3.parameters())
    assert twin.backbone.norm_eval == ours.backbone.norm_eval
    assert (ours.neck.out_channels, ours.neck.num_outs) == (twin.neck.out_channels, twin.neck.num_outs)
    head_sizes = [[p.shape for p in model.bbox_head.parameters()] for model in (ours, twin)]
    assert head_sizes[0] == head_sizes[1]


def test_fast_models_run_until_each_has_run_min_seconds(monkeypatch):
    """On a simulated clock: 10 ms and 2 ms models take turns until each has run 0.2 s."""
    timing = bench('timing')
    clock = [0.0]
    monkeypatch.setattr(timing.time, 'perf_counter', lambda: clock[0])
    monkeypatch.setattr(timing.time, 'sleep', lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    runners = {'slow': lambda: clock.__setitem__(0, clock[0] + 0.010),
               'fast': lambda: clock.__setitem__(0, clock[0] + 0.002)}
    results = timing.time_interleaved(runners, 0, 3, min_seconds=0.2)
    assert (results['slow']['repeats'], results['fast']['repeats']) == (20, 100)
    assert results['slow']['median_ms'] == pytest.approx(10) and results['fast']['median_ms'] == pytest.approx(2)
    assert timing.time_interleaved(runners, 0, 3)['slow']['repeats'] == 3
    assert timing.time_interleaved(runners, 0, 3, min_seconds=60, max_repeats=50)['fast']['repeats'] == 50


def test_runners_take_turns_in_blocks_after_an_idle_pause(monkeypatch):
    """Each runner runs alone for a block of block_seconds, and the process sleeps before every block; the
    pause is not in any runner's times."""
    timing = bench('timing')
    clock, events = [0.0], []

    def sleep(seconds: float) -> None:
        events.append('pause')
        clock[0] += seconds

    def runner(name: str, seconds: float):
        def run() -> None:
            events.append(name)
            clock[0] += seconds
        return run

    monkeypatch.setattr(timing.time, 'perf_counter', lambda: clock[0])
    monkeypatch.setattr(timing.time, 'sleep', sleep)
    # binary fractions of a second, so that the simulated clock adds up exactly
    results = timing.time_interleaved({'a': runner('a', 1 / 128), 'b': runner('b', 1 / 32)}, 0, 1,
                                      min_seconds=1 / 8, block_seconds=1 / 16, settle_seconds=1.0)
    assert events == (['pause'] + ['a'] * 8 + ['pause'] + ['b'] * 2) * 2
    assert results['a'] == dict(median_ms=pytest.approx(1000 / 128), p25_ms=pytest.approx(1000 / 128),
                                p75_ms=pytest.approx(1000 / 128), repeats=16)
    assert results['b']['repeats'] == 4 and results['b']['median_ms'] == pytest.approx(1000 / 32)


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp('bench')
    result = run_tool(['-m', PACKAGE, '--smoke', '--profile-all', '--threads', '1', '2', '--int8', 'backbone',
                       '--out', out / 'bench.json',
                       '--markdown', out / 'bench.md'], ROOT, timeout=1800)
    return json.loads((out / 'bench.json').read_text()), (out / 'bench.md').read_text(), result.stdout


def test_every_case_runs_in_every_mode_with_the_same_outputs(smoke):
    results, _, _ = smoke
    rows = [r for r in results['inference'] if r['mode'] != 'onnxruntime int8']
    modes = bench('modes')
    assert modes.float_modes() == ['eager', 'deploy', 'onnxruntime', 'onnxruntime static', 'onnxruntime plain',
                                   'openvino', 'openvino static', 'ncnn', 'mnn', 'litert']
    assert [(r['case'], r['threads'], r['mode']) for r in rows] == [
        (case, threads, mode) for case in CASES for threads in (1, 2) for mode in modes.float_modes()]
    for row in rows:
        for which in ('ghostnetv2', 'twin'):
            assert row[which]['median_ms'] > 0 and row[which]['macs'] > 0 and row[which]['params'] > 0
            backbone_share = row[which]['backbone_macs'] / row[which]['macs']
            assert backbone_share == 1 if row['case'].startswith('backbone') else 0 < backbone_share < 1
            # deploy (folded BN, channels_last) and every runtime's file compute what eager computes, for both
            assert row[which]['rel_diff_vs_eager'] < 1e-3, (row['case'], row['mode'], which)
        assert row['speed_ratio'] == pytest.approx(row['twin']['median_ms'] / row['ghostnetv2']['median_ms'])
        assert row['mac_ratio'] == pytest.approx(row['ghostnetv2']['macs'] / row['twin']['macs'])
        mode = modes.MODES[row['mode']]
        if mode.target:  # profiled (--profile-all)
            profile = row['profile']
            assert profile['top'] and profile['ours_total_ms'] > 0 and profile['twin_total_ms'] > 0
            # ncnn's per-layer times are less a call's cost: a layer of a tiny map can come out at zero
            assert profile['top'][0]['ours_ms'] > 0
            assert all(op['ours_ms'] >= 0 and op['ours_calls'] > 0 for op in profile['top'])
            assert isinstance(profile['largest_excess_op'], str)


def test_int8_rows_only_for_the_cases_asked_and_reported_against_float(smoke):
    results, markdown, _ = smoke
    int8 = [r for r in results['inference'] if r['mode'] == 'onnxruntime int8']
    assert [(r['case'], r['threads']) for r in int8] == [('backbone', 1), ('backbone', 2)]
    for row in int8:
        for which in ('ghostnetv2', 'twin'):  # quantized: close to eager, yet not equal
            assert row[which]['median_ms'] > 0 and 0 < row[which]['rel_diff_vs_eager'] < 0.5
        assert 'profile' not in row  # int8 is an option, not a target: never in the shortfalls
    assert '- backbone 64x96, 2 thread(s): GhostNetV2 ' in markdown and 'ms int8' in markdown


def test_int8_needs_known_case_names():
    result = run_tool(['-m', PACKAGE, '--smoke', '--int8', 'Retina'], ROOT, check=False)
    assert result.returncode == 2 and "--int8: unknown case(s) ['Retina']" in result.stderr


@pytest.mark.parametrize('modes, message', [
    (['ncnn', 'tflite'], "--modes: unknown mode(s) ['tflite']"),
    (['onnxruntime int8'], "--modes: ['onnxruntime int8'] would not run with --device cpu and without --int8"),
])
def test_modes_must_be_known_and_run(modes, message):
    result = run_tool(['-m', PACKAGE, '--smoke', '--modes', *modes], ROOT, check=False)
    assert result.returncode == 2 and message in result.stderr


def test_modes_limit_the_rows_and_the_profiles(tmp_path):
    out = tmp_path / 'bench.json'
    run_tool(['-m', PACKAGE, '--smoke', '--no-train', '--cases', 'backbone-320', '--threads', '1', '--profile-all',
              '--modes', 'ncnn', 'litert', '--out', out, '--markdown', tmp_path / 'bench.md'], ROOT)
    results, markdown = json.loads(out.read_text()), (tmp_path / 'bench.md').read_text()
    assert [(r['case'], r['mode'], 'profile' in r) for r in results['inference']] == [
        ('backbone-320', 'ncnn', True), ('backbone-320', 'litert', True)]
    assert results['settings']['modes'] == 'ncnn, litert'
    assert 'each operator cut out into a file of its own' in markdown and 'CONV_2D' in markdown


def test_ablation_builds_every_ghostnetv2_model_with_the_options(tmp_path):
    """--ghostnetv2-options backbone.attention_blocks=none: GhostNetV2 without DFC attention, a bare backbone
    and a detector alike; the twins are unchanged, the outputs still match eager, and the report says so."""
    out = tmp_path / 'bench.json'
    run_tool(['-m', PACKAGE, '--smoke', '--no-train', '--cases', 'backbone-320', 'YOLOv3-320', '--threads', '1',
              '--modes', 'onnxruntime static', '--ghostnetv2-options', 'backbone.attention_blocks=none',
              '--out', out, '--markdown', tmp_path / 'bench.md'], ROOT)
    results, markdown = json.loads(out.read_text()), (tmp_path / 'bench.md').read_text()
    assert results['settings']['ghostnetv2_options'] == {'backbone.attention_blocks': 'none'}
    cases = {c.name: c for c in bench('cases').cases(smoke=True)}
    for row in results['inference']:
        ours, twin = cases[row['case']].ours.build(), cases[row['case']].twin.build()
        assert row['ghostnetv2']['params'] < sum(p.numel() for p in ours.parameters())  # no DFC convs
        assert row['twin']['params'] == sum(p.numel() for p in twin.parameters())
        assert row['ghostnetv2']['rel_diff_vs_eager'] < 1e-4
    assert [row['case'] for row in results['inference']] == ['backbone-320', 'YOLOv3-320']
    assert '**Ablation: every GhostNetV2 model here is built with `backbone.attention_blocks=none`**' in markdown


def test_ablation_needs_no_train_and_bare_backbone_keys():
    result = run_tool(['-m', PACKAGE, '--smoke', '--ghostnetv2-options', 'backbone.attention_blocks=none'], ROOT,
                      check=False)
    assert result.returncode == 2 and 'inference only: add --no-train' in result.stderr
    backbone = next(c for c in bench('cases').cases(smoke=True) if c.name == 'backbone').ours
    with pytest.raises(ValueError, match="override 'neck.in_channels' must be 'backbone.ARG'"):
        backbone.build({'neck.in_channels': [1]})
    assert all(m.short_conv is None for m in backbone.build({'backbone.attention_blocks': 'none'}).modules()
               if hasattr(m, 'short_conv'))


def test_twins_have_the_same_macs_in_every_mode(smoke):
    results, _, _ = smoke
    by_case = {}
    for row in results['inference']:
        by_case.setdefault(row['case'], set()).add((row['ghostnetv2']['macs'], row['twin']['macs']))
    assert all(len(pairs) == 1 for pairs in by_case.values())


def test_train_rows_with_and_without_checkpointing(smoke):
    results, _, _ = smoke
    rows = results['train']
    assert [(r['case'], r['with_cp']) for r in rows] == [('RetinaNet', False), ('RetinaNet', True),
                                                          ('DeepLabV3 OS8', False), ('DeepLabV3 OS8', True)]
    for row in rows:
        for which in ('ghostnetv2', 'twin'):
            assert row[which]['median_ms'] > 0 and row[which]['peak_rss_mb'] > row[which]['rss_growth_mb'] >= 0


def test_report_holds_every_row_and_the_machine(smoke):
    results, markdown, stdout = smoke
    assert results['machine']['threads'] == [1, 2] and results['settings']['smoke']
    assert all(results['machine'][name] != 'not installed' for name in ('openvino', 'ncnn', 'pnnx', 'mnn'))
    for title in ('## Inference', '## Training step', '## Where GhostNetV2 falls short'):
        assert title in markdown
    table = [line for line in markdown.splitlines() if line.startswith('| ') and 'x** |' in line]
    best = len(CASES) * 2  # the fastest-against-fastest table: a row per case and thread count
    assert len(table) == len(results['inference']) + best + len(results['train'])
    assert results['date'][:10] in markdown and results['command'] in markdown
    assert 'RTMDet-tiny' in stdout


def test_report_describes_the_modes_the_code_runs(smoke):
    """The modes table comes from MODES, which also decides what each case runs and what is profiled."""
    results, markdown, _ = smoke
    modes, report = bench('modes'), bench('report')
    rows = results['inference']
    for case in CASES:
        for threads in (1, 2):
            assert [r['mode'] for r in rows if (r['case'], r['threads']) == (case, threads)] == modes.modes_of(
                case == 'backbone', 'cpu')
    assert {r['mode'] for r in rows if 'profile' in r} == {n for n, m in modes.MODES.items() if m.target}
    for name, mode in modes.MODES.items():
        assert f'| {name} | {mode.runtime} | {mode.description} |' in markdown
    # a run of fewer modes describes only those
    torch_only = report.report(dict(results, inference=[r for r in rows if r['mode'] in ('eager', 'deploy')]),
                               bench('cases').cases(smoke=True))
    assert modes.MODES['deploy'].description in torch_only
    assert not any(mode.description in torch_only for mode in modes.MODES.values() if mode.runtime != 'torch')


def test_the_train_child_is_no_option_of_the_public_cli(capsys):
    with pytest.raises(SystemExit):
        bench('cli').parse_args(['--train-child', 'RetinaNet', 'ours', '0'])
    assert 'unrecognized arguments: --train-child' in capsys.readouterr().err


def test_cuda_device_needs_a_gpu_and_inference_only(monkeypatch, capsys):
    cli = bench('cli')
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit):
        cli.parse_args(['--device', 'cuda', '--no-train'])
    assert 'torch sees no CUDA device' in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    with pytest.raises(SystemExit):
        cli.parse_args(['--device', 'cuda'])
    assert 'add --no-train' in capsys.readouterr().err
    assert cli.parse_args(['--device', 'cuda', '--no-train']).device == 'cuda'


def test_fastest_against_fastest_takes_only_modes_that_reproduce_eager():
    def row(mode, ours_ms, twin_ms, ours_diff=0.0):
        return dict(case='backbone', threads=1, size=[224, 224], mode=mode, twin_model='MobileNetV2 twin',
                    ghostnetv2=dict(median_ms=ours_ms, rel_diff_vs_eager=ours_diff, macs=100, backbone_macs=100),
                    twin=dict(median_ms=twin_ms, rel_diff_vs_eager=0.0, macs=150, backbone_macs=150))
    rows = [row('onnxruntime', 10.0, 12.0), row('ncnn', 8.0, 9.0, ours_diff=0.1), row('onnxruntime int8', 1.0, 1.0)]
    [best] = bench('report').best_against_best(rows)
    chosen = (best['ours_mode'], best['ours_ms'], best['twin_mode'], best['twin_ms'])
    assert chosen == ('onnxruntime', 10.0, 'ncnn', 9.0)
    assert best['speed_ratio'] == pytest.approx(0.9)
    assert best['ceiling'] is None  # a bare backbone: nothing outside it


def test_ceiling_is_the_twin_against_ghostnetv2_without_its_backbone():
    report = bench('report')
    # RetinaNet-like: the backbone is 2% of GhostNetV2's MACs, so even a free backbone gains at most 1.04x
    assert report.ceiling(dict(macs=162.0, backbone_macs=3.5), dict(macs=165.5)) == pytest.approx(165.5 / 158.5)
    assert report.ceiling(dict(macs=10.0, backbone_macs=10.0), dict(macs=12.0)) is None
