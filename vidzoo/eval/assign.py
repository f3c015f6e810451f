"""Per-frame optimal assignment over a whole sequence, calling the solver only where it is needed."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidzoo.eval.boxes import EPS
from vidzoo.eval.pairs import FramePairs

__all__ = ["EPS", "easy_pairs", "frame_of_pair", "max_score_matches", "solve_frames"]


def solve_frames(fp: FramePairs, score: np.ndarray, frames: np.ndarray,
                 score_of: Callable[[int, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Flat pair indices matched by maximising ``score`` in each of ``frames`` (pairs scoring <= eps dropped).

    ``score (P,)`` is the flat per-pair score; ``score_of(f, block)`` may rewrite frame f's ``(n_gt, n_pred)``
    block first (it is called in frame order, so it may depend on earlier frames).
    """
    out = []
    for f in frames:
        ng = fp.gt_start[f + 1] - fp.gt_start[f]
        npr = fp.pr_start[f + 1] - fp.pr_start[f]
        p0 = fp.pair_start[f]
        block = score[p0:p0 + ng * npr].reshape(ng, npr)
        if score_of is not None:
            block = score_of(int(f), block)
        rows, cols = linear_sum_assignment(-block)
        keep = block[rows, cols] > EPS
        out.append(p0 + rows[keep] * npr + cols[keep])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def frame_of_pair(fp: FramePairs, pairs: np.ndarray) -> np.ndarray:
    """Frame index of each flat pair index ``(K,)``."""
    return np.searchsorted(fp.pair_start, pairs, side="right") - 1


def easy_pairs(fp: FramePairs, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split frames by whether the ``positive (P,)`` pairs form a one-to-one pattern.

    Returns the flat indices of positive pairs in one-to-one frames (each is matched by any optimal
    assignment that maximises a positive score) and the sorted frames that need a solver.
    """
    ambiguous = fp.ambiguous_frames(positive)
    pair_frame = frame_of_pair(fp, np.arange(len(positive)))
    return np.flatnonzero(positive & ~np.isin(pair_frame, ambiguous)), ambiguous


def max_score_matches(fp: FramePairs, score: np.ndarray) -> np.ndarray:
    """Flat indices of the pairs an optimal per-frame assignment of ``score (P,)`` keeps (score > eps)."""
    easy, ambiguous = easy_pairs(fp, score > EPS)
    return np.concatenate([easy, solve_frames(fp, score, ambiguous)])
