"""Identity metrics (Ristani et al. 2016): IDF1, IDP, IDR from one global ground-truth <-> track matching.

Each ground-truth id is matched to at most one predicted id so that the number of frames in which the
two overlap with IoU >= 0.5 (IDTP) is largest. The min-cost formulation over the padded
(G + T) x (G + T) matrix that TrackEval solves has the same optimum as this max-weight matching on the
G x T count matrix (a cheaper problem).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidzoo.eval.pairs import FramePairs

THRESHOLD = 0.5
SUMMED = ("IDTP", "IDFN", "IDFP")


def identity_sequence(fp: FramePairs, threshold: float = THRESHOLD) -> dict:
    """IDTP/IDFN/IDFP and IDF1/IDP/IDR of one sequence."""
    n_gt, n_pr = len(fp.gt_id), len(fp.pr_id)
    if n_gt == 0 or n_pr == 0:
        return finalize({"IDTP": 0, "IDFN": n_gt, "IDFP": n_pr})
    ok = fp.sim >= threshold
    G, T = fp.num_gt_ids, fp.num_pr_ids
    counts = np.bincount(fp.gt_id[fp.gi[ok]] * T + fp.pr_id[fp.pi[ok]], minlength=G * T).reshape(G, T)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    idtp = int(counts[rows, cols].sum())
    return finalize({"IDTP": idtp, "IDFN": n_gt - idtp, "IDFP": n_pr - idtp})


def finalize(res: dict) -> dict:
    tp, fn, fpos = res["IDTP"], res["IDFN"], res["IDFP"]
    res["IDR"] = tp / np.maximum(1.0, tp + fn)
    res["IDP"] = tp / np.maximum(1.0, tp + fpos)
    res["IDF1"] = tp / np.maximum(1.0, tp + 0.5 * fpos + 0.5 * fn)
    return res


def identity_combine(results: list[dict]) -> dict:
    """Counts summed over sequences (or classes, detection-averaged), then scores recomputed."""
    return finalize({k: sum(r[k] for r in results) for k in SUMMED})
