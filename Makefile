# mmghost: `make install` builds .venv/ (see scripts/install_env.sh); `make test` runs the test suite;
# `make demo` / `make demo-seg` train and evaluate the demo detector / segmentor on CPU from random weights.
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
STAMP := $(VENV)/.mmghost-installed
DET_DEMO := configs/demo/retinanet_ghostnetv2_demo.py
DET_WORK_DIR := work_dirs/retinanet_ghostnetv2_demo
SEG_DEMO := configs/demo/deeplabv3_ghostnetv2_demo.py
SEG_WORK_DIR := work_dirs/deeplabv3_ghostnetv2_demo

.PHONY: install test demo demo-seg bench clean-venv

install: $(STAMP)

$(STAMP): scripts/install_env.sh setup.py
	VENV=$(abspath $(VENV)) bash scripts/install_env.sh
	touch $@

test: install
	$(PY) -m pytest tests

data/demo_coco/annotations/instances_val.json: | install
	$(PY) tools/misc/make_demo_data.py det

data/demo_ade/ADEChallengeData2016/images/validation: | install
	$(PY) tools/misc/make_demo_data.py seg

# Train, then evaluate the last checkpoint (COCO table) and draw the predictions on the val images.
demo: install data/demo_coco/annotations/instances_val.json
	$(PY) tools/train.py $(DET_DEMO) --work-dir $(DET_WORK_DIR)
	$(PY) tools/test.py $(DET_DEMO) $$(cat $(DET_WORK_DIR)/last_checkpoint) --work-dir $(DET_WORK_DIR) \
		--show-dir predictions
	@echo "Predictions drawn in $(DET_WORK_DIR)/<timestamp>/predictions/"

demo-seg: install data/demo_ade/ADEChallengeData2016/images/validation
	$(PY) tools/train.py $(SEG_DEMO) --work-dir $(SEG_WORK_DIR)
	$(PY) tools/test.py $(SEG_DEMO) $$(cat $(SEG_WORK_DIR)/last_checkpoint) --work-dir $(SEG_WORK_DIR) \
		--show-dir $(SEG_WORK_DIR)/predictions
	@echo "Colour-overlaid predictions in $(SEG_WORK_DIR)/predictions/"

# Throughput of mmghost (eager, deploy, onnxruntime) against timm and mmdet/mmseg MobileNetV2, one run.
bench: install
	$(PY) tools/analysis_tools/benchmark.py --compile --markdown docs/benchmarks.md

clean-venv:
	rm -rf $(VENV)
