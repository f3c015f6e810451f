#!/usr/bin/env bash
# Create the virtual environment and install the pinned lock file, then vidzoo itself.
# Why pip and not uv: on this machine kind pip resolves torch/torchvision from local
# wheel mirrors (no multi-GB download); uv ignores them. The lock pins torch 2.14.1 +
# torchvision 0.29.1, a matching pair (the stand-alone CPU torch 2.13 wheel cannot
# load PyPI's torchvision: "operator torchvision::nms does not exist").
set -euo pipefail
PY=${1:-python3}
VENV=${2:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet -r requirements.lock
# trackeval (test extra) pulls opencv-python, whose cv2/ overwrites the contrib build's; reinstate the
# contrib files so cv2.optflow (TV-L1) stays available.
"$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$(grep -i '^opencv-contrib-python-headless==' requirements.lock)"
"$VENV/bin/pip" install --quiet --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import torch, torchvision, av, cv2; print('vidzoo env ok: torch', torch.__version__, 'torchvision', torchvision.__version__)"
