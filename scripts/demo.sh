#!/usr/bin/env bash
# Install bioexit (into .venv) and run a simulated lane session from a labelled faces folder:
# the vehicles are processed and recorded, and the report is printed (bioexit lane session).
# Usage: bash scripts/demo.sh [DIR] [bioexit lane session options...]
#        (DIR defaults to ../shared/data/faces beside the repository; results go to lane-session/)
given=${1:+$(realpath -m "$1")}  # resolve before _venv.sh moves to the repository root
source "$(dirname "$0")/_venv.sh" ""  # an explicit (empty) extras argument keeps our $1 ours
data=${given:-${BIOEXIT_DATA_DIR:-../shared/data/faces}}
if [ ! -f "$data/labels.csv" ]; then
  echo "no labelled faces at $data: pass a folder with labels.csv (columns path,identity[,set]) and optional groups/" >&2
  exit 2
fi
bioexit lane session --faces "$data" "${@:2}"
