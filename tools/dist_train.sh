#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
