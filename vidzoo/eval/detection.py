"""Frame-level detection: greedy score-ordered matching per frame and class, per-class AP and mAP.

Every frame of every sequence is one image. Detections are matched in descending score to the unmatched
ground truth of the same class with the highest IoU >= t (COCO's rule: a non-ignored ground truth is
preferred over an ignored one; a detection matched to an ignored one is ignored). mAP is the mean over
classes that have ground truth; "mAP@[.5:.95]" also averages over t = 0.50, 0.55, ..., 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidzoo.eval.ap import average_precision, pr_curve
from vidzoo.eval.boxes import frame_pairs, paired_iou
from vidzoo.eval.tracks import Sequence, Tracks

COCO_THRESHOLDS = np.linspace(0.5, 0.95, 10)


@dataclass(frozen=True)
class Flat:
    """All boxes of a set of sequences, one image per (sequence, frame): ``image, seq, classes, ids (N,)``,
    ``boxes (N, 4)``, ``scores (N,)``, sorted by (image, class)."""

    image: np.ndarray
    seq: np.ndarray
    classes: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray


def flatten(sequences: list[Sequence], side: str) -> Flat:
    """Ground truth (``side="gt"``) or predictions (``"pred"``) of every sequence as one image-indexed set."""
    offsets = np.cumsum([0] + [s.num_frames for s in sequences])
    parts: list[Tracks] = [getattr(s, side) for s in sequences]
    image = np.concatenate([t.frames + o for t, o in zip(parts, offsets)]) if parts else np.zeros(0, np.int64)
    cat = lambda name, shape: (np.concatenate([getattr(t, name) for t in parts]) if parts  # noqa: E731
                               else np.zeros(shape))
    classes, ids = cat("classes", 0).astype(np.int64), cat("ids", 0)
    boxes, scores = cat("boxes", (0, 4)), cat("scores", 0)
    seq = np.repeat(np.arange(len(parts)), [len(t) for t in parts]).astype(np.int64)
    order = np.lexsort((classes, image))
    return Flat(image[order], seq[order], classes[order], ids[order], boxes[order], scores[order])


def greedy_match(gt: Flat, det: Flat, thresholds: np.ndarray, gt_ignore: np.ndarray | None = None,
                 max_dets: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Match detections to ground truth per (image, class) at each IoU threshold.

    Returns ``match (len(thresholds), N_det)`` (the matched gt row, or -1) and ``kept (N_det,)`` (false for
    detections beyond the ``max_dets`` best of their image, which are not scored).
    """
    thresholds = np.asarray(thresholds, float)
    ign = np.zeros(len(gt.image), bool) if gt_ignore is None else np.asarray(gt_ignore, bool)
    # One "group" per (image, class): dense group ids over both sides.
    keys = np.unique(np.concatenate([gt.image * 1_000_003 + gt.classes, det.image * 1_000_003 + det.classes]))
    g_grp = np.searchsorted(keys, gt.image * 1_000_003 + gt.classes)
    d_grp = np.searchsorted(keys, det.image * 1_000_003 + det.classes)
    # Inside an image: best score first (stable), and at most max_dets per image.
    order = np.lexsort((-det.scores, det.image))
    rank_in_image = np.arange(len(order)) - np.searchsorted(det.image[order], det.image[order])
    kept = np.zeros(len(order), bool)
    kept[order] = rank_in_image < max_dets
    d_order = np.lexsort((-det.scores, d_grp))
    gi, di = frame_pairs(g_grp, d_grp[d_order], len(keys))
    di = d_order[di]
    iou = paired_iou(gt.boxes[gi], det.boxes[di])
    match = np.full((len(thresholds), len(det.image)), -1)
    limits = np.minimum(thresholds, 1 - 1e-10)
    cand = (iou >= limits.min()) & kept[di]
    gi, di, iou = gi[cand], di[cand], iou[cand]
    # Groups where every box has at most one candidate partner are matched without a loop.
    crowded = (np.bincount(gi, minlength=len(gt.image)) > 1)[gi] | (np.bincount(di, minlength=len(det.image)) > 1)[di]
    hard = np.isin(g_grp[gi], np.unique(g_grp[gi[crowded]]))
    for ti, t in enumerate(limits):
        ok = ~hard & (iou >= t)
        match[ti, di[ok]] = gi[ok]
    for grp in np.unique(g_grp[gi[hard]]):
        rows = np.flatnonzero(g_grp == grp)
        rows = rows[np.argsort(ign[rows], kind="mergesort")]  # non-ignored first, as COCO orders them
        dets = d_order[np.searchsorted(d_grp[d_order], grp):np.searchsorted(d_grp[d_order], grp, side="right")]
        dets = dets[kept[dets]]
        ious = paired_iou(np.repeat(det.boxes[dets], len(rows), 0), np.tile(gt.boxes[rows], (len(dets), 1)))
        _greedy_group(ious.reshape(len(dets), len(rows)), ign[rows], limits, rows, dets, match)
    return match, kept


def _greedy_group(ious: np.ndarray, ign: np.ndarray, limits: np.ndarray, rows: np.ndarray, dets: np.ndarray,
                  match: np.ndarray) -> None:
    """COCO's greedy rule in one (image, class): ``ious (n_det, n_gt)`` with detections in score order."""
    for ti, t in enumerate(limits):
        taken = np.zeros(len(rows), bool)
        for j in range(len(dets)):
            ok = ~taken & (ious[j] >= t)
            if not ok.any():
                continue
            pool = ok & ~ign if (ok & ~ign).any() else ok
            best = len(rows) - 1 - np.argmax(np.where(pool, ious[j], -1.0)[::-1])  # the last of equal IoUs
            taken[best] = True
            match[ti, dets[j]] = rows[best]


def class_ap(gt: Flat, det: Flat, match: np.ndarray, kept: np.ndarray, cls: int, method: str,
             gt_ignore: np.ndarray | None = None, unmatched_ignored: np.ndarray | None = None) -> np.ndarray:
    """AP of one class at each threshold (rows of ``match``); NaN when the class has no scored ground truth.

    ``unmatched_ignored (N_det,)`` marks detections that are ignored when they match nothing.
    """
    ign = np.zeros(len(gt.image), bool) if gt_ignore is None else gt_ignore
    num_gt = int(np.sum((gt.classes == cls) & ~ign))
    if num_gt == 0:
        return np.full(len(match), np.nan)
    sel = (det.classes == cls) & kept
    out = []
    for m in match[:, sel]:
        hit = m >= 0
        ignored = np.where(hit, ign[np.maximum(m, 0)], False)
        if unmatched_ignored is not None:
            ignored |= ~hit & unmatched_ignored[sel]
        rec, prec = pr_curve(det.scores[sel], hit & ~ignored, ignored, num_gt)
        out.append(average_precision(rec, prec, method))
    return np.array(out)


def detection_map(sequences: list[Sequence], method: str = "coco", max_dets: int = 100) -> dict:
    """Per-class AP at IoU 0.50:0.05:0.95 and the mAP at 0.5, 0.75 and averaged over 0.5:0.95."""
    gt, det = flatten(sequences, "gt"), flatten(sequences, "pred")
    match, kept = greedy_match(gt, det, COCO_THRESHOLDS, max_dets=max_dets)
    classes = sorted(set(gt.classes.tolist()) | set(det.classes.tolist()))
    per_class = {c: class_ap(gt, det, match, kept, c, method) for c in classes}
    table = np.array([per_class[c] for c in classes]).reshape(len(classes), len(COCO_THRESHOLDS))
    with np.errstate(all="ignore"):
        mean = np.nanmean(table, axis=0) if np.isfinite(table).any() else np.zeros(len(COCO_THRESHOLDS))
    return {"method": method, "thresholds": COCO_THRESHOLDS.tolist(),
            "AP": {c: per_class[c].tolist() for c in classes},
            "mAP@0.5": float(mean[0]), "mAP@0.75": float(mean[5]), "mAP@[.5:.95]": float(np.mean(mean))}


def pr_curves(sequences: list[Sequence], iou: float = 0.5) -> dict[int, tuple[list[float], list[float]]]:
    """Per class: recall and precision after each ranked detection at one IoU threshold (for plots)."""
    gt, det = flatten(sequences, "gt"), flatten(sequences, "pred")
    match, kept = greedy_match(gt, det, np.array([iou]))
    out = {}
    for c in sorted(set(gt.classes.tolist())):
        sel = (det.classes == c) & kept
        rec, prec = pr_curve(det.scores[sel], match[0, sel] >= 0, np.zeros(int(sel.sum()), bool),
                             int(np.sum(gt.classes == c)))
        out[c] = (rec.tolist(), prec.tolist())
    return out
