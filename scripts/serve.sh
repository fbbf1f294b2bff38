#!/usr/bin/env bash
# Install bioexit (into .venv) and start the service with a demo lane that replays simulated
# vehicles; the demo logins are printed once. Open http://127.0.0.1:8000/ui/ and log in.
# Usage: bash scripts/serve.sh [DIR] [bioexit serve options...]
#        (DIR defaults to ../shared/data/faces; records go to BIOEXIT_RECORDS__DATA_DIR, default demo-records/)
given=${1:+$(realpath -m "$1")}
source "$(dirname "$0")/_venv.sh" ""
data=${given:-${BIOEXIT_DATA_DIR:-../shared/data/faces}}
if [ ! -f "$data/labels.csv" ]; then
  echo "no labelled faces at $data: pass a folder with labels.csv (columns path,identity[,set])" >&2
  exit 2
fi
export BIOEXIT_RECORDS__DATA_DIR=${BIOEXIT_RECORDS__DATA_DIR:-demo-records}
bioexit serve --demo "$data" "${@:2}"
