"""Random tracking sequences with known structure, for tests and benchmarks.

Objects are born and die at random frames, move by a random walk, vanish for occlusion gaps; the
"tracker" sees each with some probability, jitters its box, sometimes swaps to a new track id, and adds
false positives. Deterministic given the seed.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.tracks import Sequence, Tracks


def random_sequence(rng: np.random.Generator, name: str = "seq", num_frames: int = 500, num_objects: int = 12,
                    num_classes: int = 3, detect_p: float = 0.85, jitter: float = 0.08, swap_p: float = 0.004,
                    fp_per_frame: float = 1.0, size: float = 1000.0) -> Sequence:
    """One sequence: ``num_objects`` ground-truth tracks and a noisy tracker output over ``num_frames``."""
    g_rows, p_rows = [], []
    next_pred_id = 1
    for obj in range(num_objects):
        start = int(rng.integers(0, num_frames - 20))
        end = int(min(num_frames, start + rng.integers(20, num_frames)))
        t = np.arange(start, end)
        wh = rng.uniform(30, 120, 2) * np.exp(np.cumsum(rng.normal(0, 0.01, (len(t), 2)), axis=0))
        xy = rng.uniform(0, size, 2) + np.cumsum(rng.normal(0, rng.uniform(0.5, 6), (len(t), 2)), axis=0)
        visible = np.ones(len(t), bool)
        for _ in range(int(rng.integers(0, 3))):  # occlusion gaps: the object is absent from the annotations
            g0 = int(rng.integers(0, len(t)))
            visible[g0:g0 + int(rng.integers(1, 15))] = False
        cls = int(rng.integers(0, num_classes))
        box = np.concatenate([xy, wh], axis=1)
        gt_rows = np.column_stack([t, np.full(len(t), obj + 1), box, np.ones(len(t)), np.full(len(t), cls)])
        g_rows.append(gt_rows[visible])
        seen = visible & (rng.random(len(t)) < detect_p)
        swaps = np.cumsum(rng.random(len(t)) < swap_p)
        pid = next_pred_id + swaps
        next_pred_id += int(swaps[-1]) + 1
        pbox = box + rng.normal(0, jitter, box.shape) * np.repeat(wh, 2, axis=1)
        pbox[:, 2:] = np.abs(pbox[:, 2:]) + 1
        p_rows.append(np.column_stack([t, pid, pbox, rng.uniform(0.3, 1, len(t)), np.full(len(t), cls)])[seen])
    n_fp = rng.poisson(fp_per_frame * num_frames)
    fp_box = np.column_stack([rng.uniform(0, size, (n_fp, 2)), rng.uniform(20, 120, (n_fp, 2))])
    fp_ids = next_pred_id + rng.integers(0, max(1, n_fp // 5), n_fp)
    p_rows.append(np.column_stack([rng.integers(0, num_frames, n_fp), fp_ids, fp_box, rng.uniform(0, 0.6, n_fp),
                                   rng.integers(0, num_classes, n_fp)]))
    return Sequence(name, _tracks(np.concatenate(g_rows)), _tracks(np.concatenate(p_rows)), num_frames)


def _tracks(rows: np.ndarray) -> Tracks:
    """Rows ``(frame, id, x, y, w, h, score, class)`` -> Tracks (xywh -> xyxy); duplicate (frame, id) dropped."""
    _, first = np.unique(rows[:, 0] * 1e7 + rows[:, 1], return_index=True)
    rows = rows[np.sort(first)]
    boxes = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)
    return Tracks.build(rows[:, 0], rows[:, 1], boxes, rows[:, 6], rows[:, 7])


def random_sequences(count: int = 50, seed: int = 0, **kwargs: float) -> list[Sequence]:
    """``count`` independent sequences named ``seq000``, ``seq001``, ..."""
    rng = np.random.default_rng(seed)
    return [random_sequence(rng, f"seq{i:03d}", **kwargs) for i in range(count)]
