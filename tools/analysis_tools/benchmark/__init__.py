"""Speed of every GhostNetV2 model against its MobileNetV2 twin (same neck and head), in one run.

Run from the repository root::

    python -m tools.analysis_tools.benchmark --out work_dirs/benchmark.json --markdown docs/benchmarks.md

One job per module: :mod:`.cases` (the models and their twins), :mod:`.modes` (what each mode runs),
:mod:`.timing` (interleaved timing), :mod:`.runtimes` (onnxruntime sessions, int8 quantization, operator
profiles), :mod:`.inference` (the inference rows), :mod:`.train_step` (the train-step rows, each contender in
a fresh process), :mod:`.report` (text tables and the markdown report) and :mod:`.cli` (the command line).
"""
