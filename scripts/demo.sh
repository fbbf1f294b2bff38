#!/usr/bin/env bash
# Install bioexit (into .venv) and run the demo on a labelled faces folder.
# Usage: bash scripts/demo.sh [DIR]   (default: ../shared/data/faces)
source "$(dirname "$0")/_venv.sh"
data=${1:-${BIOEXIT_DATA_DIR:-../shared/data/faces}}
if [ ! -f "$data/labels.csv" ]; then
  echo "no labelled faces at $data: pass a folder with labels.csv (columns path,identity[,set]) and optional groups/" >&2
  exit 2
fi
bioexit demo --data "$data"
