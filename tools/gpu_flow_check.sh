#!/usr/bin/env bash
# GPU check of tvl1_torch (issue 20), <= 5 minutes on one CUDA GPU, run from the repository root:
#   bash tools/gpu_flow_check.sh            (PYTHON=/path/to/python to use another interpreter)
# 1. accuracy on the GPU: EPE against OpenCV's DualTVL1 on 4 real 320x240 pairs (must be <= 0.15 px);
# 2. pairs/s at 320x240, batches of 32 and 64, eager (no compile), beside OpenCV's 1-thread rows;
# 3. the same with torch.compile (Triton; first compile of each shape is untimed warm-up), capped at 170 s.
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH=${PYTHONPATH:-$PWD}

"$PY" - <<'PY'
import time
import cv2, numpy as np, torch
from vidzoo.benchmarks.flow import default_video, load_gray_frames
from vidzoo.flow.tvl1 import TVL1, TVL1Params

assert torch.cuda.is_available(), "no CUDA GPU visible to torch"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}", flush=True)
frames = load_gray_frames(default_video(), 45, (320, 240))
first, second = frames[[0, 20, 36, 40]], frames[[2, 22, 40, 44]]
cv2.setNumThreads(1)
tv = cv2.optflow.DualTVL1OpticalFlow_create(**TVL1Params().opencv_kwargs())
reference = np.stack([tv.calc(a, b, None) for a, b in zip(first, second)])
t = time.perf_counter()
ours = TVL1()(torch.from_numpy(first)[:, None].cuda(), torch.from_numpy(second)[:, None].cuda())
ours = ours.permute(0, 2, 3, 1).cpu().numpy()
epe = np.linalg.norm(ours - reference, axis=-1).mean(axis=(1, 2))
print(f"EPE vs OpenCV on the GPU, per pair: {np.round(epe, 4).tolist()} px (first call {time.perf_counter() - t:.1f} s)")
assert (epe <= 0.15).all()
PY

echo "== eager"
timeout 100 "$PY" tools/benchmark.py flow --size 320x240 --device cuda --no-compile --torch-batches 32,64 \
    --torch-pairs 128 --pairs 10 --tvl1-pairs 4 || echo "eager run did not finish within 100 s (rc $?)"
echo "== torch.compile"
timeout 170 "$PY" tools/benchmark.py flow --size 320x240 --device cuda --compile --torch-batches 32,64 \
    --torch-pairs 128 --pairs 2 --tvl1-pairs 2 || echo "compiled run did not finish within 170 s (rc $?)"
