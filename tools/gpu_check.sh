#!/usr/bin/env bash
# GPU acceptance check for mmghost, about 10 minutes on one modern GPU with 16 cores:
#   1. mmcv 2.1.0 with CUDA ops for this GPU's architecture only (built once by scripts/build_mmcv.sh with
#      TORCH_CUDA_ARCH_LIST from torch.cuda.get_device_capability, then reused from the wheel cache);
#   2. the demo detector and 3. the demo segmentor trained with --amp (fp16) for GPU_CHECK_ITERS iterations,
#      then validated; every logged loss must be finite (tools/misc/check_losses.py);
#   4. tools/dist_train.sh with 2 processes and SyncBN, where there are two GPUs;
#   5. python -m tools.analysis_tools.benchmark --device cuda --no-train (backbone, YOLOv3-416, RTMDet,
#      DeepLabV3 OS16).
# Prints one summary table and exits 1 if any check failed. Without CUDA it runs 2 and 3 on the CPU in
# float32 (float16 is emulated there, ~10x slower) and marks what needs CUDA as SKIP.
#
#   bash tools/gpu_check.sh
# Environment: PYTHON (default .venv/bin/python), GPU_CHECK_ITERS (default 200; e.g. 2 for a quick run),
# GPU_CHECK_WORK_DIR (default work_dirs/gpu_check; emptied first), PORT (dist_train.sh, default 29500).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
ITERS="${GPU_CHECK_ITERS:-200}"
WORK="${GPU_CHECK_WORK_DIR:-$ROOT/work_dirs/gpu_check}"
DET_CONFIG="$ROOT/configs/demo/retinanet_ghostnetv2_demo.py"
SEG_CONFIG="$ROOT/configs/demo/deeplabv3_ghostnetv2_demo.py"
BATCH=8  # the demo configs' training batch

if ! [[ "$ITERS" =~ ^[1-9][0-9]*$ ]]; then
  echo "GPU_CHECK_ITERS must be a positive integer, got '$ITERS'" >&2
  exit 2
fi
rm -rf "$WORK" && mkdir -p "$WORK" || exit 2

read -r NUM_GPUS CAPABILITY DEVICE < <("$PY" -c '
import torch
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
print(n, "%d.%d" % torch.cuda.get_device_capability(0) if n else "-", torch.cuda.get_device_name(0) if n else "cpu")
') || { echo "cannot run $PY with torch" >&2; exit 2; }
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
if [ "$NUM_GPUS" -gt 0 ]; then
  AMP=(--amp)
  PRECISION="cuda fp16 AMP"
else
  AMP=()
  PRECISION="cpu fp32 (AMP skipped: no CUDA)"
fi

ROWS=()
FAILED=0
# run_check NAME COMMAND...: run COMMAND with its output in WORK/NAME.log; its last output line is the detail.
run_check() {
  local name=$1 start=$SECONDS log="$WORK/${1// /_}.log" result=PASS
  shift
  "$@" >"$log" 2>&1 || { result=FAIL; FAILED=1; }
  ROWS+=("| $name | $result | $((SECONDS - start)) | $(tail -n 1 "$log" | tr '|' '/') |")
}
skip() { ROWS+=("| $1 | SKIP | 0 | $2 |"); }

mmcv_cuda_ops() {
  command -v nvcc >/dev/null || { echo "nvcc not found: install the CUDA toolkit of torch.version.cuda"; return 1; }
  TORCH_CUDA_ARCH_LIST="$CAPABILITY" PYTHON="$PY" bash "$ROOT/scripts/build_mmcv.sh" || return 1
  echo "sm_${CAPABILITY/./} ops; nms runs on the GPU"
}

# losses_finite WORK_NAME ITERS: the run in WORK/WORK_NAME reached ITERS with finite losses.
losses_finite() {
  local summary
  summary=$("$PY" "$ROOT/tools/misc/check_losses.py" "$WORK/$1" --iters "$2") || { echo "$summary"; return 1; }
  echo "$PRECISION: $summary"
}

# train_detector: ITERS iterations over epochs of min(ITERS, 8) iterations, validated after the last.
train_detector() {
  local per_epoch=$(( ITERS < 8 ? ITERS : 8 ))
  local epochs=$(( (ITERS + per_epoch - 1) / per_epoch ))
  "$PY" "$ROOT/tools/misc/make_demo_data.py" det --out "$WORK/data/demo_coco" \
    --num-train $(( per_epoch * BATCH )) --num-val 8 || return 1
  (cd "$WORK" && "$PY" "$ROOT/tools/train.py" "$DET_CONFIG" --work-dir "$WORK/det" "${AMP[@]}" --cfg-options \
    train_cfg.max_epochs=$epochs train_cfg.val_interval=$epochs default_hooks.checkpoint.interval=$epochs \
    default_hooks.logger.interval=1) || return 1
  losses_finite det $(( epochs * per_epoch ))
}

# train_segmentor WORK_NAME LAUNCHER...: ITERS iterations (iteration-based), validated after the last.
train_segmentor() {
  local name=$1
  shift
  [ -d "$WORK/data/demo_ade" ] || "$PY" "$ROOT/tools/misc/make_demo_data.py" seg \
    --out "$WORK/data/demo_ade/ADEChallengeData2016" --num-train 16 --num-val 4 || return 1
  (cd "$WORK" && "$@" --work-dir "$WORK/$name" "${AMP[@]}" --cfg-options train_cfg.max_iters=$ITERS \
    train_cfg.val_interval=$ITERS default_hooks.checkpoint.interval=$ITERS default_hooks.logger.interval=1 \
    "${SEG_EXTRA[@]}") || return 1
  losses_finite "$name" "$ITERS"
}

benchmark() {
  (cd "$ROOT" && "$PY" -m tools.analysis_tools.benchmark --device cuda --no-train --cases backbone YOLOv3-416 \
    RTMDet "DeepLabV3 OS16" --out "$WORK/benchmark.json" --markdown "$WORK/benchmark.md") || return 1
  echo "tables in $WORK/benchmark.md"
}

if [ "$NUM_GPUS" -gt 0 ]; then
  run_check "mmcv CUDA ops" mmcv_cuda_ops
else
  skip "mmcv CUDA ops" "no CUDA device"
fi
run_check "train detector" train_detector
SEG_EXTRA=()
run_check "train segmentor" train_segmentor seg "$PY" "$ROOT/tools/train.py" "$SEG_CONFIG"
if [ "$NUM_GPUS" -ge 2 ]; then
  SEG_EXTRA=(model.backbone.norm_cfg.type=SyncBN model.decode_head.norm_cfg.type=SyncBN
             model.auxiliary_head.norm_cfg.type=SyncBN)
  run_check "dist_train.sh 2 GPUs SyncBN" train_segmentor dist \
    env PYTHON="$PY" bash "$ROOT/tools/dist_train.sh" "$SEG_CONFIG" 2
else
  skip "dist_train.sh 2 GPUs SyncBN" "needs 2 CUDA devices, found $NUM_GPUS"
fi
if [ "$NUM_GPUS" -gt 0 ]; then
  run_check "benchmark.py --device cuda" benchmark
else
  skip "benchmark.py --device cuda" "no CUDA device"
fi

echo
echo "mmghost GPU check: torch $TORCH_VERSION, $NUM_GPUS GPU(s) ($DEVICE), $ITERS iterations; logs in $WORK"
echo "| check | result | seconds | detail |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
exit $FAILED
