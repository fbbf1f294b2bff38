#!/usr/bin/env bash
# Install bioexit (into .venv) and run the demo on a labelled faces folder.
# Usage: bash scripts/demo.sh [DIR]   (default: ../shared/data/faces beside the repository)
given=${1:+$(realpath -m "$1")}  # resolve before _venv.sh moves to the repository root
source "$(dirname "$0")/_venv.sh" ""  # an explicit (empty) extras argument keeps our $1 ours
data=${given:-${BIOEXIT_DATA_DIR:-../shared/data/faces}}
if [ ! -f "$data/labels.csv" ]; then
  echo "no labelled faces at $data: pass a folder with labels.csv (columns path,identity[,set]) and optional groups/" >&2
  exit 2
fi
bioexit demo --data "$data"
