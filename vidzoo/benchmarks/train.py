"""``tools/benchmark.py train``: training throughput of the trainer's fast path vs plain fp32 eager.

Two measurements per mode, in one process on the same device:

* compute-bound: ``--steps`` training steps on in-memory random clips (no data loading);
* end-to-end (``--e2e``): the real loader (PyAV decoding in CPU workers, uint8 clips normalised on the
  device) over a generated UCF101-like set, with the device's busy fraction.

Prints clips/s, step time, peak memory, achieved TFLOP/s (torch's FLOP counter x 3 for
forward + backward) and MFU against the device's peak dense bf16 rate.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vidzoo.engine.experiment import build_optimizer
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.trainer import autocast_factory
from vidzoo.models.registry import build_model
from vidzoo.arguments import OneLineArgumentParser

#: Peak dense bf16 tensor-core rates (FLOP/s) from the vendors' data sheets, by device-name fragment.
PEAK_BF16 = {"H200": 989e12, "H100 SXM": 989e12, "H100 NVL": 835e12, "H100 PCIe": 756e12, "H100": 989e12,
             "A100": 312e12, "L40S": 362e12, "L4": 121e12}


#: Appended by ``tools/benchmark.py train --quick``: one step of a small model on tiny clips.
QUICK_ARGS = ["--model", "c3d_small", "--batch", "2", "--frames", "4", "--size", "32", "--steps", "1", "--warmup", "0",
              "--videos", "2", "--workers", "0", "--num-classes", "9"]


@dataclass
class Mode:
    name: str
    precision: str
    channels_last: bool
    compile: bool
    fused: bool


MODES = {
    "fp32": Mode("fp32 eager", "fp32", False, False, False),
    "fast": Mode("fast path (bf16, channels_last_3d, compile, fused SGD)", "bf16", True, True, True),
    "bf16": Mode("bf16 eager", "bf16", False, False, False),
}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16.items():
        if key in name:
            return value
    return None


def forward_flops(model: nn.Module, sample_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass of one clip, counted by torch's own FLOP counter (on CPU, batch 1)."""
    import copy

    m = copy.deepcopy(model).cpu().eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        m(torch.zeros(1, *sample_shape))
    return int(counter.get_total_flops())


class _Opt:
    def __init__(self, fused: bool) -> None:
        self.name, self.lr, self.momentum, self.nesterov, self.weight_decay = "sgd", 0.01, 0.9, True, 1e-4
        self.betas, self.fused = [0.9, 0.999], fused


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # process peak RSS (KiB -> GiB)


def _setup(model_name: str, num_classes: int, mode: Mode, device: torch.device):
    torch.manual_seed(0)
    model = build_model(model_name, num_classes=num_classes).to(device)
    if mode.channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    opt = build_optimizer(model, _Opt(mode.fused and device.type == "cuda"), device)
    fwd = model
    if mode.compile:
        fwd = torch.compile(model)
    return model, fwd, opt, autocast_factory(mode.precision, device)


def _step(fwd, opt, autocast, x, y) -> None:
    with autocast():
        loss = nn.functional.cross_entropy(fwd(x).float(), y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def compute_bound(model_name: str, mode: Mode, device: torch.device, batch: int, sample: tuple[int, ...],
                  steps: int, warmup: int, num_classes: int, flops: int) -> dict[str, Any]:
    model, fwd, opt, autocast = _setup(model_name, num_classes, mode, device)
    x = torch.randn(batch, *sample, device=device)
    if mode.channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
    y = torch.randint(0, num_classes, (batch,), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        _step(fwd, opt, autocast, x, y)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        _step(fwd, opt, autocast, x, y)
    _sync(device)
    dt = (time.perf_counter() - t0) / steps
    achieved = 3 * flops * batch / dt
    peak = peak_flops(device)
    return {"mode": mode.name, "run": "compute-bound", "clips_per_s": batch / dt, "step_ms": dt * 1e3,
            "peak_mem_gb": _peak_memory_gb(device), "tflops": achieved / 1e12,
            "mfu": achieved / peak if peak else None, "busy": 1.0}


def end_to_end(model_name: str, mode: Mode, device: torch.device, batch: int, steps: int, warmup: int,
               num_classes: int, flops: int, loader) -> dict[str, Any]:
    model, fwd, opt, autocast = _setup(model_name, num_classes, mode, device)
    from vidzoo.data.transforms import KINETICS_MEAN, KINETICS_STD

    prepare = InputPreparer(device, KINETICS_MEAN, KINETICS_STD, mode.channels_last)
    it = iter(loader)
    busy = wall = 0.0
    done = 0
    t_start = None
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            b = next(it)
        x, y = prepare(b["inputs"]), b["label"].to(device, non_blocking=True)
        t1 = time.perf_counter()
        _step(fwd, opt, autocast, x, y)
        _sync(device)
        t2 = time.perf_counter()
        if i == warmup:
            t_start = t0
        if i >= warmup:
            busy += t2 - t1
            done += len(y)
    wall = time.perf_counter() - t_start
    achieved = 3 * flops * done / wall
    peak = peak_flops(device)
    return {"mode": mode.name, "run": f"end-to-end ({loader.num_workers} workers)", "clips_per_s": done / wall,
            "step_ms": wall / steps * 1e3, "peak_mem_gb": _peak_memory_gb(device), "tflops": achieved / 1e12,
            "mfu": achieved / peak if peak else None, "busy": busy / wall}


def _e2e_loader(batch: int, frames: int, size: int, workers: int, videos: int):
    from vidzoo.benchmarks.data import make_ucf_like_set
    from vidzoo.data.annotations import VideoRecord
    from vidzoo.data.dataset import VideoDataset
    from vidzoo.data.decoding import build_decoder
    from vidzoo.data.dataloader import build_loader
    from vidzoo.data.sampling import RandomClipSampler
    from vidzoo.data.transforms import train_transform

    from vidzoo.cache import cache_root

    cache = cache_root() / "bench_ucf_like"
    paths = make_ucf_like_set(cache, num_videos=videos)
    records = [VideoRecord(str(p), i % 2) for i, p in enumerate(paths)]
    ds = VideoDataset(records, RandomClipSampler(frames, 2), build_decoder("pyav"),
                      train_transform(int(size * 128 / 112), size, output_uint8=True))
    return build_loader(ds, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=torch.cuda.is_available(),
                        persistent_workers=workers > 0, prefetch_factor=4 if workers else None, drop_last=True)


def format_table(rows: list[dict[str, Any]], device_name: str) -> str:
    lines = [f"device: {device_name}", "",
             "| run | mode | clips/s | step ms | peak mem GiB | TFLOP/s | MFU | busy |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "n/a"
        lines.append(f"| {r['run']} | {r['mode']} | {r['clips_per_s']:.1f} | {r['step_ms']:.1f} | {r['peak_mem_gb']:.2f} "
                     f"| {r['tflops']:.2f} | {mfu} | {r['busy']:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = OneLineArgumentParser(prog="benchmark.py train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="r2plus1d_18")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--modes", default="fp32,fast", help="comma list of: " + ", ".join(MODES))
    p.add_argument("--e2e", action="store_true", help="also run the real-loader end-to-end measurement")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--videos", type=int, default=32, help="videos in the generated UCF101-like set (--e2e)")
    p.add_argument("--device", default="auto")
    p.add_argument("--num-classes", type=int, default=101)
    a = p.parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    sample = (3, a.frames, a.size, a.size)
    flops = forward_flops(build_model(a.model, num_classes=a.num_classes), sample)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"{a.model}: {flops / 1e9:.1f} GFLOPs forward per clip at {sample}; batch {a.batch}")
    rows = []
    loader = _e2e_loader(a.batch, a.frames, a.size, a.workers, a.videos) if a.e2e else None
    for key in a.modes.split(","):
        mode = MODES[key.strip()]
        if mode.precision == "bf16" and device.type == "cpu":
            mode = Mode(mode.name + " [CPU bf16 autocast]", "bf16", mode.channels_last, mode.compile, False)
        rows.append(compute_bound(a.model, mode, device, a.batch, sample, a.steps, a.warmup, a.num_classes, flops))
        if loader is not None:
            rows.append(end_to_end(a.model, mode, device, a.batch, a.steps, a.warmup, a.num_classes, flops, loader))
    if len(rows) >= 2 and rows[0]["run"] == "compute-bound":
        base = rows[0]["clips_per_s"]
        for r in rows:
            r["speedup_vs_first"] = r["clips_per_s"] / base
    print(format_table(rows, name))
    return rows
