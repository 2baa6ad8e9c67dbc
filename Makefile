# mmghost: `make install` builds .venv/ (the modern stack) and .venv-compat/ (the low end of the declared
# ranges, torch 2.0.1), see scripts/install_env.sh; `make test` runs the main suite (tests/) on the first and the compat suite
# (tests_compat/) on the second;
# `make demo` / `make demo-seg` train and evaluate the demo detector / segmentor on CPU from random weights.
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
STAMP := $(VENV)/.mmghost-installed
COMPAT_VENV ?= .venv-compat
COMPAT_PY := $(abspath $(COMPAT_VENV))/bin/python
COMPAT_STAMP := $(COMPAT_VENV)/.mmghost-installed
DET_DEMO := configs/demo/retinanet_ghostnetv2_demo.py
DET_WORK_DIR := work_dirs/retinanet_ghostnetv2_demo
SEG_DEMO := configs/demo/deeplabv3_ghostnetv2_demo.py
SEG_WORK_DIR := work_dirs/deeplabv3_ghostnetv2_demo

.PHONY: install install-main install-compat test test-main test-compat gpu-check demo demo-seg bench clean-venv

install: $(STAMP) $(COMPAT_STAMP)

install-main: $(STAMP)

install-compat: $(COMPAT_STAMP)

$(STAMP): scripts/install_env.sh scripts/build_mmcv.sh setup.py
	VENV=$(abspath $(VENV)) bash scripts/install_env.sh modern
	touch $@

$(COMPAT_STAMP): scripts/install_env.sh scripts/build_mmcv.sh setup.py
	VENV=$(abspath $(COMPAT_VENV)) bash scripts/install_env.sh compat
	touch $@

# Both suites run, even when the first fails; the target fails if either does.
test: install
	@status=0; \
	$(MAKE) --no-print-directory test-main || status=1; \
	$(MAKE) --no-print-directory test-compat || status=1; \
	exit $$status

test-main: $(STAMP)
	$(PY) -m pytest tests

test-compat: $(COMPAT_STAMP)
	$(COMPAT_PY) -m pytest tests_compat

# The GPU acceptance check (tools/gpu_check.sh); on a machine without CUDA it says what it skipped.
gpu-check: $(STAMP)
	PYTHON=$(PY) bash tools/gpu_check.sh

data/demo_coco/annotations/instances_val.json: | install-main
	$(PY) tools/misc/make_demo_data.py det

data/demo_ade/ADEChallengeData2016/images/validation: | install-main
	$(PY) tools/misc/make_demo_data.py seg

# Train, then evaluate the last checkpoint (COCO table) and draw the predictions on the val images.
demo: install-main data/demo_coco/annotations/instances_val.json
	$(PY) tools/train.py $(DET_DEMO) --work-dir $(DET_WORK_DIR)
	$(PY) tools/test.py $(DET_DEMO) $$(cat $(DET_WORK_DIR)/last_checkpoint) --work-dir $(DET_WORK_DIR) \
		--show-dir predictions
	@echo "Predictions drawn in $(DET_WORK_DIR)/<timestamp>/predictions/"

demo-seg: install-main data/demo_ade/ADEChallengeData2016/images/validation
	$(PY) tools/train.py $(SEG_DEMO) --work-dir $(SEG_WORK_DIR)
	$(PY) tools/test.py $(SEG_DEMO) $$(cat $(SEG_WORK_DIR)/last_checkpoint) --work-dir $(SEG_WORK_DIR) \
		--show-dir $(SEG_WORK_DIR)/predictions
	@echo "Colour-overlaid predictions in $(SEG_WORK_DIR)/predictions/"

# Every GhostNetV2 model against its MobileNetV2 twin (same neck/head): eager, deploy, onnxruntime (dynamic and
# fixed input shape) latency, train step time and memory, with MACs and ratios, in one run (docs/benchmarks.md,
# work_dirs/benchmark.json); the backbone, YOLOv3-416 and RTMDet also after onnxruntime's static int8
# quantization (the package tools/analysis_tools/benchmark, run from the repository root).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--threads 1" on a machine shared with other jobs.
BENCH_ARGS ?=
bench: install-main
	$(PY) -m tools.analysis_tools.benchmark --out work_dirs/benchmark.json --markdown docs/benchmarks.md \
		--int8 backbone YOLOv3-416 RTMDet $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV) $(COMPAT_VENV)
