#!/usr/bin/env bash
# Usage: [GPUS=8] bash tools/slurm_launch.sh SCRIPT PARTITION JOB_NAME [SCRIPT arguments]
# Runs tools/SCRIPT with srun, one task per GPU, --launcher slurm. GPUS, GPUS_PER_NODE, CPUS_PER_TASK,
# SRUN_ARGS and PYTHON may be set.
set -x
SCRIPT=$1
PARTITION=$2
JOB_NAME=$3
GPUS=${GPUS:-8}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"${GPUS_PER_NODE:-8}" \
    --ntasks="$GPUS" \
    --ntasks-per-node="${GPUS_PER_NODE:-8}" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$(dirname "$0")/$SCRIPT" "${@:4}" --launcher=slurm
