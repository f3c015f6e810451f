"""Updates per second of each stream learner on CPU, beside fine-tuning (one SGD step per example) as the
baseline, in one process on the same random features.

    python tools/benchmark.py streaming                       # 512-d features, 10 classes, 2,000 updates
    python tools/benchmark.py streaming --dim 256 --updates 500 --learners slda,exstream

Pooled-feature learners (slda, exstream, finetune) get Gaussian class blobs ``(D,)``; REMIND gets maps of
c3d_small's ``features.pool4`` shape ``(64, 1, 4, 4)`` and trains its top (conv5a..fc8). Each learner is
first fitted on a base set (not timed), then timed over ``--updates`` single-example updates.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import torch
from torch import nn

from vidzoo.models import build_model
from vidzoo.streaming.baselines import FineTune
from vidzoo.streaming.exstream import ExStream
from vidzoo.streaming.remind import Remind
from vidzoo.streaming.slda import StreamingLDA
from vidzoo.streaming.split import split_at

ALL = ("slda", "exstream", "remind", "finetune")


#: Appended by ``tools/benchmark.py streaming --quick``: a few updates per learner.
QUICK_ARGS = ["--updates", "20", "--remind-updates", "4", "--dim", "64"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="benchmark.py streaming", description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", default=",".join(ALL), help=f"comma-separated, any of {','.join(ALL)}")
    p.add_argument("--dim", type=int, default=512, help="pooled feature size D (default 512)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--updates", type=int, default=2000, help="timed single-example updates (default 2000)")
    p.add_argument("--remind-updates", type=int, default=200, help="timed REMIND updates (default 200)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--seed", type=int, default=0)
    return p


def _blobs(n: int, shape: tuple[int, ...], classes: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    centres = torch.randn(classes, *shape, generator=gen)
    y = torch.randint(classes, (n,), generator=gen)
    return centres[y] + 0.5 * torch.randn(n, *shape, generator=gen), y


def _build(name: str, dim: int, classes: int) -> tuple[Any, tuple[int, ...]]:
    if name == "slda":
        return StreamingLDA(dim), (dim,)
    if name == "exstream":
        return ExStream(nn.Linear(dim, classes), capacity=20, replay_size=16), (dim,)
    if name == "finetune":
        return FineTune(nn.Linear(dim, classes)), (dim,)
    top = split_at(build_model("c3d_small", num_classes=classes), "features.pool4").top
    return Remind(top, "fc8", buffer_bytes=1_000_000, replay_size=16), (64, 1, 4, 4)


def updates_per_second(name: str, dim: int, classes: int, updates: int, seed: int) -> float:
    """Fit ``name`` on a base set, then time ``updates`` single-example updates; returns updates/s."""
    gen = torch.Generator().manual_seed(seed)
    learner, shape = _build(name, dim, classes)
    base_x, base_y = _blobs(600, shape, classes, gen)
    learner.fit_base(base_x, base_y)
    xs, ys = _blobs(updates, shape, classes, gen)
    update: Callable[[torch.Tensor, int], None] = learner.update
    start = time.perf_counter()
    for x, y in zip(xs, ys.tolist()):
        update(x, y)
    return updates / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    names = [n for n in args.learners.split(",") if n]
    unknown = [n for n in names if n not in ALL]
    if unknown:
        raise SystemExit(f"benchmark.py streaming: error: unknown learner {unknown[0]!r}; choose from {','.join(ALL)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    baseline = updates_per_second("finetune", args.dim, args.classes, args.updates, args.seed)
    print(f"streaming updates/s on CPU ({args.threads} thread(s)), {args.dim}-d features, {args.classes} classes; "
          f"baseline: fine-tuning {baseline:,.0f} updates/s")
    for name in names:
        n = args.remind_updates if name == "remind" else args.updates
        rate = baseline if name == "finetune" else updates_per_second(name, args.dim, args.classes, n, args.seed)
        shape = "(64, 1, 4, 4) maps" if name == "remind" else f"({args.dim},) features"
        print(f"  {name:9s} {rate:>10,.0f} updates/s  ({rate / baseline:.2f}x fine-tuning; {n} updates on {shape})")


if __name__ == "__main__":
    main()
