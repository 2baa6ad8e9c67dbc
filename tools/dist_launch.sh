#!/usr/bin/env bash
# Usage: bash tools/dist_launch.sh SCRIPT NUM_PROCESSES [SCRIPT arguments]
# Runs tools/SCRIPT under torchrun with --launcher pytorch: one process per GPU, or CPU processes with
# the gloo backend where there is no GPU. NNODES, NODE_RANK, PORT, MASTER_ADDR and PYTHON may be set.
SCRIPT=$1
NPROC=$2
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" \
    "$(dirname "$0")/$SCRIPT" "${@:3}" --launcher pytorch
