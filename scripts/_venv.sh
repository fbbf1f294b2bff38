# Sourced by the scripts beside it: make .venv with bioexit installed (plus the extras given).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "bioexit needs Python >= 3.11")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check --upgrade pip
python -m pip install --quiet --disable-pip-version-check -e ".${1:-}"
# The lane benchmark's face_recognition baseline: --no-deps, because it declares `dlib` (a
# source build) where the dlib-bin wheel above already provides the module; Click is only for its CLI.
python -m pip install --quiet --disable-pip-version-check --no-deps "face_recognition==1.3.0"
