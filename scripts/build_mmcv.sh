#!/usr/bin/env bash
# Install mmcv (MMCV_VERSION, default 2.1.0) with its compiled ops into the environment of PYTHON (default:
# python).
#
#   PYTHON=.venv/bin/python MMCV_VERSION=2.1.0 bash scripts/build_mmcv.sh
#
# The wheel is built once from the PyPI sdist and cached outside the repository (MMGHOST_WHEEL_CACHE,
# default ~/.cache/mmghost/wheels), keyed by mmcv, torch, CUDA and Python version (and TORCH_CUDA_ARCH_LIST
# when set), so a second install takes seconds. With a GPU and nvcc the CUDA ops are built too (for the
# architectures of TORCH_CUDA_ARCH_LIST when set). The environment must already hold torch,
# setuptools<81, wheel, ninja and mmcv's own requirements (addict, yapf, packaging, pyyaml, opencv, mmengine).
set -euo pipefail

PY="${PYTHON:-python}"
MMCV_VERSION="${MMCV_VERSION:-2.1.0}"
CACHE_DIR="${MMGHOST_WHEEL_CACHE:-$HOME/.cache/mmghost/wheels}"

step() { printf '\n[mmcv +%ss] %s\n' "$SECONDS" "$*"; }
die() { printf '\n[mmcv] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'die "step failed at line $LINENO: $BASH_COMMAND"' ERR

cuda_tag=$("$PY" - <<'PY'
import shutil, torch
has_gpu = torch.cuda.is_available() and shutil.which('nvcc') is not None
print(f"cu{torch.version.cuda.replace('.', '')}" if has_gpu and torch.version.cuda else 'cpu')
PY
)
torch_tag=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
key="mmcv-$MMCV_VERSION-torch$torch_tag-$cuda_tag-py$("$PY" -c 'import sys; print(f"{sys.version_info[0]}{sys.version_info[1]}")')"
if [ "$cuda_tag" != cpu ] && [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then
  key="$key-sm${TORCH_CUDA_ARCH_LIST//[^0-9]/}"
fi
wheel_dir="$CACHE_DIR/$key"

# The installed mmcv is the right version, has mmcv._ext, and (for a CUDA build) runs nms on the GPU.
has_mmcv_ops() {
  "$PY" - "$MMCV_VERSION" "$cuda_tag" 2>/dev/null <<'PY'
import sys
import mmcv, mmcv._ext, torch
from mmcv.ops import nms
assert mmcv.__version__ == sys.argv[1]
device = 'cpu' if sys.argv[2] == 'cpu' else 'cuda'
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]], device=device)
assert nms(boxes, torch.tensor([0.9, 0.8], device=device), 0.5)[1].tolist() == [0]
PY
}

if has_mmcv_ops; then
  step "mmcv $MMCV_VERSION with $cuda_tag ops already installed"
  exit 0
fi
if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
  step "building mmcv $MMCV_VERSION ($cuda_tag ops) from the PyPI sdist into $wheel_dir"
  build="$(mktemp -d)"
  "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: --no-build-isolation \
    "mmcv==$MMCV_VERSION" -d "$build"
  tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
  src="$build/mmcv-$MMCV_VERSION"
  torch_include=$("$PY" -c 'import torch.utils.cpp_extension as c; print(c.include_paths()[0])')
  if grep -q 'C++20 or later' "$torch_include/ATen/ATen.h"; then
    # These torch headers require C++20 (torch 2.14 does, torch 2.1 does not); mmcv 2.x hard-codes C++17.
    sed -i -e 's/-std=c++17/-std=c++20/g' -e 's#/std:c++17#/std:c++20#g' "$src/setup.py"
    grep -q 'c++20' "$src/setup.py" || die "could not patch mmcv setup.py for C++20"
  fi
  if [ "$cuda_tag" != cpu ]; then export FORCE_CUDA=1; fi
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps "$src" -w "$build/wheel"
  mkdir -p "$CACHE_DIR"
  tmp="$(mktemp -d "$CACHE_DIR/.partial-XXXXXX")"
  cp "$build"/wheel/mmcv-*.whl "$tmp"/
  rm -rf "$wheel_dir" && mv "$tmp" "$wheel_dir"   # publish the cache entry atomically
  rm -rf "$build"
fi
step "installing mmcv from $wheel_dir"
"$PY" -m pip install --disable-pip-version-check --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
has_mmcv_ops || { rm -rf "$wheel_dir"; die "mmcv installed without working $cuda_tag ops (mmcv._ext); removed the cached wheel $wheel_dir, rerun to rebuild"; }
step "mmcv $MMCV_VERSION with $cuda_tag ops installed"
