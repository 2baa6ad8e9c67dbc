#!/usr/bin/env bash
# Build one of mmghost's two tested environments.
#
#   bash scripts/install_env.sh [modern|compat]
#
# modern (default; VENV default .venv): torch 2.14.1, mmcv 2.1.0 with its compiled ops, mmengine 0.10.7,
#   mmdet 3.3.0, mmsegmentation 1.2.2, timm, onnx, onnxruntime, OpenVINO, ncnn + pnnx, MNN, LiteRT
#   (litert-torch, ai-edge-litert), mmghost (editable, with extras).
# compat (VENV default .venv-compat): the low end of the ranges mmghost declares (setup.py), an OpenMMLab
#   stack users run: Python 3.11, torch 2.0.1 + torchvision 0.15.2 from PyPI, numpy<2, mmengine 0.8.0, mmcv
#   2.0.1 with its compiled ops, mmdet 3.1.0 and mmsegmentation 1.1.0 (without their declared deps) plus their
#   run-time deps, timm, pytest, mmghost (editable).
#
# mmcv is built by scripts/build_mmcv.sh and cached outside the repository, so a second install takes
# seconds. Every step prints the seconds elapsed and stops the script with a message on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STACK="${1:-modern}"

step() { printf '\n[install %s +%ss] %s\n' "$STACK" "$SECONDS" "$*"; }
die() { printf '\n[install %s] ERROR: %s\n' "$STACK" "$*" >&2; exit 1; }
trap 'die "step failed at line $LINENO: $BASH_COMMAND"' ERR

case "$STACK" in
  modern)
    VENV="${VENV:-$ROOT/.venv}"
    PYTHON="${PYTHON:-python3}"
    TORCH_VERSION=2.14.1
    TORCHVISION_VERSION=0.29.1
    NUMPY_SPEC=numpy
    MMCV_VERSION=2.1.0
    MMENGINE_VERSION=0.10.7
    MMDET_VERSION=3.3.0
    MMSEG_VERSION=1.2.2
    YAPF_SPEC=yapf
    ;;
  compat)
    VENV="${VENV:-$ROOT/.venv-compat}"
    PYTHON="${PYTHON:-python3.11}"
    TORCH_VERSION=2.0.1
    TORCHVISION_VERSION=0.15.2
    NUMPY_SPEC='numpy<2'
    MMCV_VERSION=2.0.1
    MMENGINE_VERSION=0.8.0
    MMDET_VERSION=3.1.0
    MMSEG_VERSION=1.1.0
    # mmengine < 0.10.2 calls yapf's FormatCode(verify=...), which yapf 0.40.2 removed (Config.dump fails)
    YAPF_SPEC='yapf==0.40.1'
    TIMM_VERSION=1.0.15
    ;;
  *) die "unknown stack '$STACK': expected 'modern' or 'compat'" ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if [ "$STACK" = compat ]; then
  "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' || die "the compat stack needs Python 3.11 (set PYTHON)"
fi
# Every pip call of this stack keeps torch, torchvision and numpy where the first step put them.
CONSTRAINTS="$VENV/mmghost-constraints.txt"
printf 'torch==%s\ntorchvision==%s\n%s\nmmengine==%s\n%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" "$NUMPY_SPEC" \
  "$MMENGINE_VERSION" "$YAPF_SPEC" > "$CONSTRAINTS"
PIP=("$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS")

step "torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION and build tools"
"${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "$NUMPY_SPEC" \
  "setuptools>=77,<81" wheel ninja addict "$YAPF_SPEC" packaging pyyaml opencv-python \
  "mmengine==$MMENGINE_VERSION"

step "mmcv with compiled ops"
PYTHON="$PY" MMCV_VERSION="$MMCV_VERSION" bash "$ROOT/scripts/build_mmcv.sh"

if [ "$STACK" = compat ]; then
  step "mmdet $MMDET_VERSION, mmsegmentation $MMSEG_VERSION (no deps) and their run-time dependencies"
  "${PIP[@]}" --no-deps "mmdet==$MMDET_VERSION" "mmsegmentation==$MMSEG_VERSION"
  "${PIP[@]}" pycocotools scipy shapely terminaltables tqdm six ftfy regex matplotlib prettytable \
    "timm==$TIMM_VERSION" pytest
  step "mmghost (editable, both downstream extras; its declared ranges must hold this stack)"
  "${PIP[@]}" -e "$ROOT[all]"
  step "checking imports (mmghost's own import is tested by tests_compat/)"
  "$PY" -c 'import torch, mmcv.ops, mmdet.models, mmseg.models, timm; print("torch", torch.__version__, "ok")'
else
  step "mmdet $MMDET_VERSION, mmsegmentation $MMSEG_VERSION, test and deployment tools, mmghost (editable)"
  # the deployment runtimes and converters at the versions the tests were run with
  "${PIP[@]}" "mmdet==$MMDET_VERSION" "mmsegmentation==$MMSEG_VERSION" -e "$ROOT[all,tests,deploy,deploy-mobile]" \
    openvino==2026.4.1 ncnn==1.0.20261020 pnnx==20261020 MNN==3.6.1 litert-torch==0.10.0 ai-edge-litert==2.3.0
  # litert-torch pulls transformers (for its LLM tools; converting a vision model does not import it), and
  # mmdet imports transformers whenever it is installed: a second more to every process, so it goes
  "$PY" -m pip uninstall --disable-pip-version-check -y transformers

  step "checking imports"
  "$PY" -c 'import mmcv.ops, mmdet.models, mmseg.models, mmghost, timm; print("mmghost", mmghost.__version__, "ok")'
fi
step "done"
