"""HOTA (Luiten et al., IJCV 2020): detection, association and localisation accuracy over IoU thresholds.

For each alpha in 0.05, 0.10, ..., 0.95 a detection pair counts as a true positive when the per-frame
assignment matched it with IoU >= alpha. The assignment maximises the global alignment score of the
two ids times the IoU. AssA averages, over true positives, the Jaccard index of the pair's ids'
true-positive counts. HOTA = sqrt(DetA * AssA). Results agree with TrackEval's HOTA field by field.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.assign import EPS, max_score_matches
from vidzoo.eval.pairs import FramePairs

ALPHAS = np.arange(0.05, 0.99, 0.05)
COUNT_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
ASSOC_FIELDS = ("AssRe", "AssPr", "AssA")


def _empty(num_gt: int, num_pred: int) -> dict:
    a = len(ALPHAS)
    res = {k: np.zeros(a) for k in COUNT_FIELDS + ASSOC_FIELDS}
    res["HOTA_FN"] += num_gt
    res["HOTA_FP"] += num_pred
    res["LocA"] = np.ones(a)
    return finalize(res)


def hota_sequence(fp: FramePairs) -> dict:
    """HOTA fields of one sequence; arrays ``(19,)`` over ``ALPHAS`` plus the scalars HOTA(0), LocA(0)."""
    n_gt, n_pr = len(fp.gt_id), len(fp.pr_id)
    if n_gt == 0 or n_pr == 0:
        return _empty(n_gt, n_pr)
    sim, gid, tid = fp.sim, fp.gt_id[fp.gi], fp.pr_id[fp.pi]
    G, T = fp.num_gt_ids, fp.num_pr_ids
    # Global alignment: per-frame "soft IoU" of each pair, summed per id pair.
    row = np.bincount(fp.gi, sim, minlength=n_gt)
    col = np.bincount(fp.pi, sim, minlength=n_pr)
    denom = col[fp.pi] + row[fp.gi] - sim
    ok = denom > EPS
    soft = np.where(ok, sim / np.where(ok, denom, 1.0), 0.0)
    pmc = np.bincount(gid * T + tid, soft, minlength=G * T).reshape(G, T)
    gt_count = np.bincount(fp.gt_id, minlength=G).astype(float)[:, None]
    pr_count = np.bincount(fp.pr_id, minlength=T).astype(float)[None, :]
    gas = pmc / (gt_count + pr_count - pmc)
    matched = max_score_matches(fp, gas[gid, tid] * sim)
    s = sim[matched]
    # Number of alphas each match passes: alpha_a - eps <= s for a < k.
    k = np.searchsorted(ALPHAS - EPS, s, side="right")
    A = len(ALPHAS)

    def above(weights: np.ndarray | None) -> np.ndarray:
        h = np.bincount(k, weights, minlength=A + 1)
        return np.cumsum(h[::-1])[::-1][1:]

    tp = above(None).astype(float)
    res = {"HOTA_TP": tp, "HOTA_FN": n_gt - tp, "HOTA_FP": n_pr - tp}
    key, inv = np.unique(gid[matched] * T + tid[matched], return_inverse=True)
    hist = np.zeros((len(key), A + 1))
    np.add.at(hist, (inv.reshape(-1), k), 1)
    counts = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]  # (pairs, A): matches passing alpha a
    gc, tc = gt_count[key // T, 0][:, None], pr_count[0, key % T][:, None]
    tp1 = np.maximum(1, tp)
    res["AssA"] = np.sum(counts * counts / np.maximum(1, gc + tc - counts), axis=0) / tp1
    res["AssRe"] = np.sum(counts * counts / np.maximum(1, gc), axis=0) / tp1
    res["AssPr"] = np.sum(counts * counts / np.maximum(1, tc), axis=0) / tp1
    res["LocA"] = np.maximum(1e-10, above(s)) / np.maximum(1e-10, tp)
    return finalize(res)


def finalize(res: dict) -> dict:
    """Fields that follow from the counts and the association scores (per sequence or combined)."""
    tp, fn, fpos = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fpos)
    res["DetA"] = tp / np.maximum(1, tp + fn + fpos)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["OWTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["HOTA(0)"] = float(res["HOTA"][0])
    res["LocA(0)"] = float(res["LocA"][0])
    res["HOTALocA(0)"] = res["HOTA(0)"] * res["LocA(0)"]
    return res


def hota_combine(results: list[dict]) -> dict:
    """Sequences (or classes, detection-averaged) combined: counts summed, association weighted by TP."""
    res = {k: sum(r[k] for r in results) for k in COUNT_FIELDS}
    tp = res["HOTA_TP"]
    for k in ASSOC_FIELDS:
        res[k] = sum(r[k] * r["HOTA_TP"] for r in results) / np.maximum(1.0, tp)
    res["LocA"] = np.maximum(1e-10, sum(r["LocA"] * r["HOTA_TP"] for r in results)) / np.maximum(1e-10, tp)
    return finalize(res)
