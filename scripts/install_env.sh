#!/usr/bin/env bash
# Create .venv/ with the pinned OpenMMLab stack, mmcv 2.1.0 built with its compiled ops, and mmghost.
#
# The mmcv wheel is built once from the PyPI sdist and cached outside the repository
# (MMGHOST_WHEEL_CACHE, default ~/.cache/mmghost/wheels), keyed by mmcv, torch and CUDA version,
# so a second install takes seconds. Every step stops the script with a message on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
MMENGINE_VERSION=0.10.7
MMDET_VERSION=3.3.0
MMSEG_VERSION=1.2.2
CACHE_DIR="${MMGHOST_WHEEL_CACHE:-$HOME/.cache/mmghost/wheels}"

step() { printf '\n[install] %s\n' "$*"; }
die() { printf '\n[install] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'die "step failed at line $LINENO: $BASH_COMMAND"' ERR

if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

step "torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION and build tools"
"${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
  "setuptools>=77,<81" wheel ninja addict yapf packaging pyyaml opencv-python \
  "mmengine==$MMENGINE_VERSION"

cuda_tag=$("$PY" - <<'PY'
import shutil, torch
has_gpu = torch.cuda.is_available() and shutil.which('nvcc') is not None
print(f"cu{torch.version.cuda.replace('.', '')}" if has_gpu and torch.version.cuda else 'cpu')
PY
)
torch_tag=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
key="mmcv-$MMCV_VERSION-torch$torch_tag-$cuda_tag-py$("$PY" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
wheel_dir="$CACHE_DIR/$key"

has_mmcv_ops() { "$PY" -c 'import mmcv, mmcv._ext; from mmcv.ops import nms; assert mmcv.__version__ == "'"$MMCV_VERSION"'"' 2>/dev/null; }

if has_mmcv_ops; then
  step "mmcv $MMCV_VERSION with ops already installed"
else
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    step "building mmcv $MMCV_VERSION ($cuda_tag ops) from the PyPI sdist; takes ~15-30 min on 2 cores"
    build="$(mktemp -d)"
    "$PY" -m pip download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$build"
    tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
    src="$build/mmcv-$MMCV_VERSION"
    # torch >= 2.6 headers require C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i -e 's/-std=c++17/-std=c++20/g' -e 's#/std:c++17#/std:c++20#g' "$src/setup.py"
    grep -q 'c++20' "$src/setup.py" || die "could not patch mmcv setup.py for C++20"
    if [ "$cuda_tag" != cpu ]; then export FORCE_CUDA=1; fi
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$PY" -m pip wheel --no-build-isolation --no-deps "$src" -w "$build/wheel"
    mkdir -p "$CACHE_DIR"
    tmp="$(mktemp -d "$CACHE_DIR/.partial-XXXXXX")"
    cp "$build"/wheel/mmcv-*.whl "$tmp"/
    rm -rf "$wheel_dir" && mv "$tmp" "$wheel_dir"   # publish the cache entry atomically
    rm -rf "$build"
  fi
  step "installing mmcv from $wheel_dir"
  "${PIP[@]}" --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
  has_mmcv_ops || { rm -rf "$wheel_dir"; die "mmcv installed without working compiled ops (mmcv._ext); removed the cached wheel $wheel_dir, rerun to rebuild"; }
fi

step "mmdet $MMDET_VERSION, mmsegmentation $MMSEG_VERSION, test and deployment tools, mmghost (editable)"
"${PIP[@]}" "mmdet==$MMDET_VERSION" "mmsegmentation==$MMSEG_VERSION" -e "$ROOT[tests,deploy]"

step "checking imports"
"$PY" -c 'import mmcv.ops, mmdet.models, mmseg.models, mmghost, timm; print("mmghost", mmghost.__version__, "ok")'
