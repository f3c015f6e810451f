"""CLEAR MOT metrics (Bernardin & Stiefelhagen 2008): MOTA, MOTP, FP, FN, ID switches, Frag, MT/PT/ML.

Per frame, pairs with IoU >= 0.5 are assigned to maximise the summed IoU, with an over-riding bonus for
keeping the match a ground-truth object had in the previous evaluated frame. Two conventions:

* ``"trackeval"`` (default, TrackEval's CLEAR): the bonus applies only to the match of the previous
  frame that had both ground truth and predictions; Frag counts re-starts after such a frame where the
  object was not tracked (missed or absent); MT is ratio > 0.8; MOTP is the mean IoU of matches.
* ``"motmetrics"`` (py-motmetrics 1.4): the last match of an object is re-linked first even after a gap,
  then the rest is matched for the most pairs at least distance; Frag counts tracked -> missed
  transitions between an object's first and last match; MT is ratio >= 0.8; MOTP is the mean 1 - IoU.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidzoo.eval.assign import EPS, easy_pairs, frame_of_pair, solve_frames
from vidzoo.eval.pairs import FramePairs

THRESHOLD = 0.5
CONVENTIONS = ("trackeval", "motmetrics")
SUMMED = ("CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames", "MOTP_sum")


def _matches_trackeval(fp: FramePairs, valid: np.ndarray) -> np.ndarray:
    """Flat indices of matched pairs, TrackEval's rule (bonus for the previous full frame's match)."""
    score = np.where(valid, fp.sim, 0.0)
    easy, ambiguous = easy_pairs(fp, valid)
    easy_frame = frame_of_pair(fp, easy)
    full = np.flatnonzero((np.diff(fp.gt_start) > 0) & (np.diff(fp.pr_start) > 0))
    solved: dict[int, np.ndarray] = {}

    def with_bonus(f: int, block: np.ndarray) -> np.ndarray:
        i = np.searchsorted(full, f)
        prev = np.full(fp.num_gt_ids, -1)
        if i > 0:
            pf = full[i - 1]
            m = solved.get(pf)
            if m is None:
                m = easy[np.searchsorted(easy_frame, pf):np.searchsorted(easy_frame, pf, side="right")]
            prev[fp.gt_id[fp.gi[m]]] = fp.pr_id[fp.pi[m]]
        _, g0, p0, _ = fp.block(f)
        rows = fp.gt_id[g0:g0 + block.shape[0]]
        cols = fp.pr_id[p0:p0 + block.shape[1]]
        bonus = 1000.0 * (cols[None, :] == prev[rows][:, None])
        out = np.where(block > 0, bonus + block, 0.0)
        return out

    for f in ambiguous:
        solved[int(f)] = solve_frames(fp, score, np.array([f]), with_bonus)
    return np.concatenate([easy, *solved.values()]) if solved else easy


def _relink(rows: np.ndarray, cols: np.ndarray, ok: np.ndarray, last: np.ndarray) -> tuple[list, list]:
    """Rows (in order) whose last matched column is present, free and within the threshold keep it."""
    taken = np.zeros(len(cols), bool)
    r1, c1 = [], []
    for i, g in enumerate(rows):
        hit = np.flatnonzero(~taken & (cols == last[g]))
        if len(hit) and ok[i, hit[0]]:
            taken[hit[0]] = True
            r1.append(i)
            c1.append(hit[0])
    return r1, c1


def _most_pairs(dist: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Most pairs among ``ok``, then least summed distance (forbidden pairs priced out, as py-motmetrics)."""
    if not ok.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    large = 2 * min(ok.shape) * (np.abs(dist[ok]).max() + 1) + 1
    rows, cols = linear_sum_assignment(np.where(ok, dist, large))
    keep = ok[rows, cols]
    return rows[keep], cols[keep]


def _matches_motmetrics(fp: FramePairs, valid: np.ndarray) -> np.ndarray:
    """Flat indices of matched pairs, py-motmetrics's rule (re-link last matches, then most pairs)."""
    last = np.full(fp.num_gt_ids, -1)
    out = []
    for f in range(fp.num_frames):
        block, g0, p0, q0 = fp.block(f)
        if block.size == 0:
            continue
        ok = valid[q0:q0 + block.size].reshape(block.shape)
        rows, cols = fp.gt_id[g0:g0 + block.shape[0]], fp.pr_id[p0:p0 + block.shape[1]]
        r1, c1 = _relink(rows, cols, ok, last)
        free = ok.copy()
        free[r1, :] = False
        free[:, c1] = False
        r2, c2 = _most_pairs(1.0 - block, free)
        r, c = np.concatenate([r1, r2]).astype(np.int64), np.concatenate([c1, c2]).astype(np.int64)
        last[rows[r]] = cols[c]
        out.append(q0 + r * block.shape[1] + c)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _empty(fp: FramePairs) -> dict:
    """TrackEval's early return when one side is empty: counts set, every score 0 except MLR = 1."""
    res = finalize({k: 0 for k in SUMMED})
    res = {k: 0 * v for k, v in res.items()}
    res.update(CLR_FN=len(fp.gt_id), CLR_FP=len(fp.pr_id), MLR=1.0)
    res["ML"] = fp.num_gt_ids if len(fp.pr_id) == 0 else 0
    return res


def clear_sequence(fp: FramePairs, convention: str = "trackeval") -> dict:
    """CLEAR counts and scores of one sequence."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown CLEAR convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    if len(fp.gt_id) == 0 or len(fp.pr_id) == 0:
        return _empty(fp)  # as TrackEval: an empty side scores before any frame is counted (CLR_Frames 0)
    valid = fp.sim >= THRESHOLD - EPS
    m = (_matches_trackeval if convention == "trackeval" else _matches_motmetrics)(fp, valid)
    mf = frame_of_pair(fp, m)
    order = np.lexsort((mf, fp.gt_id[fp.gi[m]]))
    m, mf = m[order], mf[order]
    mg, mt, ms = fp.gt_id[fp.gi[m]], fp.pr_id[fp.pi[m]], fp.sim[m]
    same_gt = mg[1:] == mg[:-1]
    idsw = int(np.sum(same_gt & (mt[1:] != mt[:-1])))
    gt_count = np.bincount(fp.gt_id, minlength=fp.num_gt_ids)
    ratio = np.bincount(mg, minlength=fp.num_gt_ids)[gt_count > 0] / gt_count[gt_count > 0]
    if convention == "trackeval":
        full = (np.diff(fp.gt_start) > 0) & (np.diff(fp.pr_start) > 0)
        rank = np.cumsum(full) - 1  # index among frames with both sides present
        continues = same_gt & (rank[mf[1:]] == rank[mf[:-1]] + 1)
        frag = int(np.sum(same_gt & ~continues))
        mt_count = int(np.sum(ratio > 0.8))
        motp_sum = float(np.sum(ms))
    else:
        frag = _motmetrics_frag(fp, fp.gi[m], same_gt)
        mt_count = int(np.sum(ratio >= 0.8))
        motp_sum = float(np.sum(1.0 - ms))
    pt = int(np.sum(ratio >= 0.2)) - mt_count
    res = {"CLR_TP": len(m), "CLR_FN": len(fp.gt_id) - len(m), "CLR_FP": len(fp.pr_id) - len(m), "IDSW": idsw,
           "MT": mt_count, "PT": pt, "ML": fp.num_gt_ids - mt_count - pt, "Frag": frag,
           "CLR_Frames": fp.num_frames, "MOTP_sum": motp_sum}
    return finalize(res)


def _motmetrics_frag(fp: FramePairs, rows: np.ndarray, same_gt: np.ndarray) -> int:
    """Tracked -> missed transitions: consecutive matches of one object with a frame between them where the
    object was present but unmatched. ``rows (K,)`` are the matched gt rows in (object, frame) order."""
    gt_frame = np.searchsorted(fp.gt_start, np.arange(len(fp.gt_id)), side="right") - 1
    order = np.lexsort((gt_frame, fp.gt_id))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))  # position of each gt row among its object's rows in time
    r = rank[rows]
    return int(np.sum(same_gt & (r[1:] > r[:-1] + 1)))


def finalize(res: dict) -> dict:
    """Scores that follow from the summed counts (per sequence or combined)."""
    tp, fn, fpos, idsw = res["CLR_TP"], res["CLR_FN"], res["CLR_FP"], res["IDSW"]
    n_ids = res["MT"] + res["PT"] + res["ML"]
    gt = np.maximum(1.0, tp + fn)
    res.update(MOTA=(tp - fpos - idsw) / gt, MODA=(tp - fpos) / gt, MOTP=res["MOTP_sum"] / np.maximum(1.0, tp),
               sMOTA=(res["MOTP_sum"] - fpos - idsw) / gt, CLR_Re=tp / gt, CLR_Pr=tp / np.maximum(1.0, tp + fpos),
               CLR_F1=tp / np.maximum(1.0, tp + 0.5 * fn + 0.5 * fpos),
               MTR=res["MT"] / np.maximum(1.0, n_ids), PTR=res["PT"] / np.maximum(1.0, n_ids),
               MLR=res["ML"] / np.maximum(1.0, n_ids),
               FP_per_frame=fpos / np.maximum(1.0, res["CLR_Frames"]),
               MOTAL=(tp - fpos - (np.log10(idsw) if idsw > 0 else 0)) / gt)
    return res


def clear_combine(results: list[dict]) -> dict:
    """Sequences (or classes, detection-averaged) combined: counts summed, then scores recomputed."""
    return finalize({k: sum(r[k] for r in results) for k in SUMMED})
