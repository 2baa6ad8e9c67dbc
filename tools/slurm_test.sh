#!/usr/bin/env bash
# Usage: [GPUS=8] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py options]
exec bash "$(dirname "$0")/slurm_launch.sh" test.py "$1" "$2" "$3" "$4" "${@:5}"
