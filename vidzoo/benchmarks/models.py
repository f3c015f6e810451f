"""Forward time of our ResNet3D models against torchvision's, in one process, on the same CPU input.

    python tools/benchmark.py models                                  # r2plus1d_18, (1, 3, 16, 112, 112)
    python tools/benchmark.py models --models r2plus1d_18,r3d_18,mc3_18 --iters 5

Both models get the same weights (ours loads torchvision's ``state_dict``), run in eval mode under
``torch.inference_mode``, fp32. Timed iterations alternate between the two (and swap which goes first every
round), so drift in machine load hits both alike. Prints the median seconds per forward of each, the ratio
ours / torchvision with PASS/FAIL against the goal <= 1.05 (not judged under 7 timed rounds) and the largest output difference (equivalence check).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from torch import nn
from torchvision.models import video as tv_video

from vidzoo.models import build_model
from vidzoo.arguments import OneLineArgumentParser

_TORCHVISION: dict[str, Callable[..., nn.Module]] = {
    "r3d_18": tv_video.r3d_18,
    "mc3_18": tv_video.mc3_18,
    "r2plus1d_18": tv_video.r2plus1d_18,
}


#: Appended by ``tools/benchmark.py models --quick``: one forward of a tiny clip.
QUICK_ARGS = ["--input", "1,3,2,16,16", "--warmup", "0", "--iters", "1"]


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--input: expected comma-separated integers like 1,3,16,112,112, got {text!r}")
    if len(shape) != 5 or shape[1] != 3:
        raise argparse.ArgumentTypeError(f"--input: expected B,3,T,H,W, got {text!r}")
    return shape


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="benchmark.py models", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="r2plus1d_18",
                   help=f"comma-separated, any of {','.join(_TORCHVISION)} (default: r2plus1d_18)")
    p.add_argument("--input", type=_shape, default=(1, 3, 16, 112, 112), help="B,C,T,H,W (default 1,3,16,112,112)")
    p.add_argument("--warmup", type=int, default=2, help="untimed forwards of each model first (default 2)")
    p.add_argument("--iters", type=int, default=5, help="timed forwards of each model (default 5)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads for this run (0: leave as is)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _time_once(model: nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return time.perf_counter() - start


def compare(name: str, x: torch.Tensor, warmup: int, iters: int) -> dict[str, float]:
    """Median forward seconds of ours and torchvision's ``name`` on ``x``, their ratio and max output diff."""
    theirs = _TORCHVISION[name](weights=None).eval()
    ours = build_model(name, num_classes=400).eval()
    ours.load_state_dict(theirs.state_dict())
    times: dict[str, list[float]] = {"ours": [], "torchvision": []}
    with torch.inference_mode():
        max_diff = (ours(x) - theirs(x)).abs().max().item()
        for _ in range(warmup):
            ours(x)
            theirs(x)
        for i in range(iters):
            order = [("ours", ours), ("torchvision", theirs)]
            for key, model in order if i % 2 == 0 else order[::-1]:
                times[key].append(_time_once(model, x))
    t_ours, t_theirs = statistics.median(times["ours"]), statistics.median(times["torchvision"])
    return {"ours": t_ours, "torchvision": t_theirs, "ratio": t_ours / t_theirs, "max_diff": max_diff}


#: ours / torchvision forward time that counts as "as fast"; below MIN_RELIABLE_ITERS timed rounds the median
#: of a 2-core machine is too noisy to judge it either way.
RATIO_GOAL = 1.05
MIN_RELIABLE_ITERS = 7


def verdict(name: str, ratio: float, iters: int) -> str:
    """One line saying whether ``ratio`` meets the goal, or that ``iters`` is too few to tell."""
    if iters < MIN_RELIABLE_ITERS:
        return (f"ratio {name} ours/torchvision = {ratio:.3f}: not judged ({iters} timed rounds; "
                f"use --iters >= {MIN_RELIABLE_ITERS} to compare with the goal <= {RATIO_GOAL})")
    status = "PASS" if ratio <= RATIO_GOAL else "FAIL"
    return f"ratio {name} ours/torchvision = {ratio:.3f}: {status} (goal <= {RATIO_GOAL}, {iters} timed rounds)"


def main(argv: list[str] | None = None) -> None:
    """Run the comparison for every model in ``--models`` and print one row each plus a ratio line."""
    args = _parser().parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in _TORCHVISION]
    if unknown:
        raise SystemExit(f"benchmark.py models: no torchvision counterpart for {unknown}; choose from {list(_TORCHVISION)}")
    if args.iters < 1 or args.warmup < 0:
        raise SystemExit("benchmark.py models: --iters must be >= 1 and --warmup >= 0")
    previous_threads = torch.get_num_threads()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        torch.manual_seed(args.seed)
        x = torch.randn(args.input)
        print(f"input {tuple(x.shape)} fp32, {torch.get_num_threads()} threads, "
              f"{args.warmup} warm-up + {args.iters} timed forwards each, interleaved; median s/forward")
        print(f"{'model':<14}{'ours_s':>10}{'torchvision_s':>15}{'ratio':>8}{'max|diff|':>12}")
        for name in names:
            r = compare(name, x, args.warmup, args.iters)
            print(f"{name:<14}{r['ours']:>10.4f}{r['torchvision']:>15.4f}{r['ratio']:>8.3f}{r['max_diff']:>12.2e}")
            print(verdict(name, r["ratio"], args.iters))
    finally:
        torch.set_num_threads(previous_threads)
