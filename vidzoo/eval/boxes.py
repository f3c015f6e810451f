"""Boxes and IoU: pairwise matrices, one batched pass over every frame, and optimal assignment.

Boxes are ``(x1, y1, x2, y2)`` in pixels. IoU follows the convention of the MOTChallenge and COCO
tools: the intersection of boxes that do not overlap is 0, and a pair whose union is not positive
scores 0.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

EPS = np.finfo(float).eps


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """``(N, 4)`` boxes ``(x, y, w, h)`` -> ``(N, 4)`` ``(x1, y1, x2, y2)``."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of row i of ``a`` with row i of ``b``: ``(N, 4), (N, 4) -> (N,)``."""
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.maximum(iw, 0.0) * np.maximum(ih, 0.0)
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    bad = union <= EPS
    return np.where(bad, 0.0, inter / np.where(bad, 1.0, union))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All-pairs IoU: ``(N, 4), (M, 4) -> (N, M)``."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    n, m = len(a), len(b)
    return paired_iou(np.repeat(a, m, axis=0), np.tile(b, (n, 1))).reshape(n, m)


def frame_pairs(frames_a: np.ndarray, frames_b: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (row of a, row of b) pair that shares a frame, frame-major and row-major inside a frame.

    ``frames_a`` and ``frames_b`` are sorted frame indices ``(N,)`` and ``(M,)``. Returns two index arrays
    ``(P,)``; the pairs of frame f, reshaped to ``(n_a[f], n_b[f])``, are that frame's IoU matrix.
    """
    na = np.bincount(frames_a, minlength=num_frames)
    nb = np.bincount(frames_b, minlength=num_frames)
    sa = np.concatenate([[0], np.cumsum(na)[:-1]])
    sb = np.concatenate([[0], np.cumsum(nb)[:-1]])
    counts = na * nb
    total = int(counts.sum())
    frame = np.repeat(np.arange(num_frames), counts)
    local = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    nbf = nb[frame]
    return sa[frame] + local // np.maximum(nbf, 1), sb[frame] + local % np.maximum(nbf, 1)


def match(scores: np.ndarray, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one assignment maximising the summed score, keeping pairs with score >= threshold.

    ``scores`` is ``(N, M)``; entries below the threshold can never be matched. Returns row and column
    indices ``(K,)``.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    usable = np.where(scores >= threshold - EPS, scores, 0.0)
    rows, cols = linear_sum_assignment(-usable)
    keep = (scores[rows, cols] >= threshold - EPS) & (usable[rows, cols] > 0)
    return rows[keep], cols[keep]
