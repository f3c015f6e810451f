"""Tracking-metric benchmark: vidzoo.eval's HOTA and CLEAR beside TrackEval's on the same sequences.

    python tools/benchmark.py metrics [--sequences 50] [--frames 500] [--objects 12] [--repeat 3]

Random sequences (births, deaths, occlusion gaps, ID swaps, jitter, false positives) are generated once.
TrackEval's metrics get their per-frame IoU matrices precomputed (not timed, as in its own pipeline,
where the dataset computes them); vidzoo.eval's time includes computing its IoUs. Both run in this one
process on one core; "seq/s" is sequences per CPU-second (best of --repeat), and both sides' combined
scores are printed so a reader sees that they agree.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import numpy as np

from vidzoo.eval.clear import clear_combine, clear_sequence
from vidzoo.eval.hota import hota_combine, hota_sequence
from vidzoo.eval.pairs import prepare
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracks import Sequence

__all__ = ["main", "trackeval_inputs"]


def trackeval_inputs(seq: Sequence) -> dict:
    """TrackEval's per-sequence input dict (dense ids, per-frame IoU matrices from its own box IoU)."""
    from trackeval.datasets._base_dataset import _BaseDataset

    gt, pr = seq.gt, seq.pred
    _, g_id = np.unique(gt.ids, return_inverse=True)
    _, p_id = np.unique(pr.ids, return_inverse=True)
    g_split = np.searchsorted(gt.frames, np.arange(1, seq.num_frames))
    p_split = np.searchsorted(pr.frames, np.arange(1, seq.num_frames))
    gb, pb = np.split(gt.boxes, g_split), np.split(pr.boxes, p_split)
    return {"num_timesteps": seq.num_frames, "num_gt_ids": int(g_id.max(initial=-1)) + 1,
            "num_tracker_ids": int(p_id.max(initial=-1)) + 1, "num_gt_dets": len(gt), "num_tracker_dets": len(pr),
            "gt_ids": np.split(g_id.reshape(-1), g_split), "tracker_ids": np.split(p_id.reshape(-1), p_split),
            "similarity_scores": [_BaseDataset._calculate_box_ious(a, b, box_format="x0y0x1y1")
                                  for a, b in zip(gb, pb)]}


def _best_cpu_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def run(sequences: int, frames: int, objects: int, repeat: int, seed: int = 0) -> list[dict]:
    """One row per (metric, implementation): CPU seconds, sequences/s and the combined headline score."""
    import trackeval

    seqs = random_sequences(sequences, seed=seed, num_frames=frames, num_objects=objects)
    te_data = [trackeval_inputs(s) for s in seqs]
    te_hota, te_clear = trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False})
    cases = [
        ("HOTA", "TrackEval 1.3", lambda: te_hota.combine_sequences(
            {i: te_hota.eval_sequence(d) for i, d in enumerate(te_data)}), lambda r: float(np.mean(r["HOTA"]))),
        ("HOTA", "vidzoo.eval", lambda: hota_combine([hota_sequence(prepare(s)) for s in seqs]),
         lambda r: float(np.mean(r["HOTA"]))),
        ("CLEAR", "TrackEval 1.3", lambda: te_clear.combine_sequences(
            {i: te_clear.eval_sequence(d) for i, d in enumerate(te_data)}), lambda r: float(r["MOTA"])),
        ("CLEAR", "vidzoo.eval", lambda: clear_combine([clear_sequence(prepare(s)) for s in seqs]),
         lambda r: float(r["MOTA"])),
    ]
    rows = []
    for metric, impl, fn, headline in cases:
        seconds, res = _best_cpu_seconds(fn, repeat)
        rows.append({"metric": metric, "impl": impl, "cpu_s": seconds, "seq_per_s": sequences / seconds,
                     "score": headline(res)})
    return rows


def format_table(rows: list[dict]) -> str:
    """Markdown table with the speed-up of vidzoo.eval over TrackEval per metric."""
    base = {r["metric"]: r["seq_per_s"] for r in rows if r["impl"].startswith("TrackEval")}
    lines = ["| metric | implementation | CPU s | seq/s | x TrackEval | combined score |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['metric']} | {r['impl']} | {r['cpu_s']:.3f} | {r['seq_per_s']:.1f} | "
                     f"{r['seq_per_s'] / base[r['metric']]:.2f} | {r['score']:.6f} |")
    return "\n".join(lines)


#: Appended by ``tools/benchmark.py metrics --quick``: two short sequences, one run each.
QUICK_ARGS = ["--sequences", "2", "--frames", "40", "--repeat", "1"]


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="benchmark.py metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sequences", type=int, default=50)
    p.add_argument("--frames", type=int, default=500)
    p.add_argument("--objects", type=int, default=12, help="ground-truth tracks per sequence")
    p.add_argument("--repeat", type=int, default=3, help="runs per case; the fastest counts")
    a = p.parse_args(argv)
    rows = run(a.sequences, a.frames, a.objects, a.repeat)
    print(f"{a.sequences} sequences x {a.frames} frames, {a.objects} objects each; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; CPU time of this process")
    print(format_table(rows))
    return rows
