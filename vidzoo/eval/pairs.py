"""One sequence prepared for the tracking metrics: dense ids and every frame's similarity matrix, flat.

Frame f's ``(n_gt[f], n_pred[f])`` similarity matrix is ``sim[pair_start[f]:pair_start[f + 1]]`` in
row-major order, computed for all frames in one vectorised IoU pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidzoo.eval.boxes import frame_pairs, paired_iou
from vidzoo.eval.tracks import Sequence


@dataclass(frozen=True)
class FramePairs:
    """Ground-truth and predicted detections of one sequence with their pairwise similarities.

    ``gt_id (Ng,)`` and ``pr_id (Np,)`` are dense ids in ``[0, num_gt_ids)`` / ``[0, num_pr_ids)``;
    ``gi, pi, sim (P,)`` list every same-frame pair; ``gt_start, pr_start, pair_start (F + 1,)`` are the
    per-frame offsets.
    """

    num_frames: int
    gt_id: np.ndarray
    pr_id: np.ndarray
    num_gt_ids: int
    num_pr_ids: int
    gi: np.ndarray
    pi: np.ndarray
    sim: np.ndarray
    gt_start: np.ndarray
    pr_start: np.ndarray
    pair_start: np.ndarray

    def block(self, f: int) -> tuple[np.ndarray, int, int, int]:
        """Frame f: ``(sim (n_gt, n_pred), first gt row, first pred row, first pair index)``."""
        ng = self.gt_start[f + 1] - self.gt_start[f]
        npr = self.pr_start[f + 1] - self.pr_start[f]
        p0 = self.pair_start[f]
        return self.sim[p0:p0 + ng * npr].reshape(ng, npr), self.gt_start[f], self.pr_start[f], p0

    def ambiguous_frames(self, positive: np.ndarray) -> np.ndarray:
        """Frames where some row or column has two or more ``positive`` pairs (sorted frame indices).

        Elsewhere the optimal assignment is exactly the set of positive pairs, so no solver is needed.
        """
        gi, pi = self.gi[positive], self.pi[positive]
        bad_rows = np.bincount(gi, minlength=len(self.gt_id)) > 1
        bad_cols = np.bincount(pi, minlength=len(self.pr_id)) > 1
        frames = np.concatenate([np.searchsorted(self.gt_start, np.flatnonzero(bad_rows), side="right") - 1,
                                 np.searchsorted(self.pr_start, np.flatnonzero(bad_cols), side="right") - 1])
        return np.unique(frames)


def _dense(ids: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inverse = np.unique(ids, return_inverse=True)
    return inverse.reshape(-1), len(uniq)


def prepare(seq: Sequence, class_aware: bool = False) -> FramePairs:
    """Dense ids and flat similarities of ``seq``; ``class_aware`` zeroes pairs of different classes."""
    gt, pr, n = seq.gt, seq.pred, seq.num_frames
    gi, pi = frame_pairs(gt.frames, pr.frames, n)
    sim = paired_iou(gt.boxes[gi], pr.boxes[pi])
    if class_aware:
        sim = np.where(gt.classes[gi] == pr.classes[pi], sim, 0.0)
    gt_id, num_gt = _dense(gt.ids)
    pr_id, num_pr = _dense(pr.ids)
    ng = np.bincount(gt.frames, minlength=n)
    npr = np.bincount(pr.frames, minlength=n)
    zero = np.zeros(1, np.int64)
    return FramePairs(n, gt_id, pr_id, num_gt, num_pr, gi, pi, sim,
                      np.concatenate([zero, np.cumsum(ng)]), np.concatenate([zero, np.cumsum(npr)]),
                      np.concatenate([zero, np.cumsum(ng * npr)]))
