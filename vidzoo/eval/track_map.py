"""Track mAP (TAO / TrackEval's TrackMAP, 'all' tracks): AP of whole tracks ranked by their mean score.

Tracks match by 3D IoU (intersection area summed over frames over union area summed over frames of
both tracks), greedily in descending track score, at IoU 0.50:0.05:0.95. Precision is read at 101
recall points (COCO); AR is the final recall. Evaluated per class, tracks pooled over sequences.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.ap import average_precision, pr_curve
from vidzoo.eval.tube_iou import area_track_iou, ranked_hits
from vidzoo.eval.tracks import Sequence

THRESHOLDS = np.arange(0.5, 0.96, 0.05)


def track_map(sequences: list[Sequence], thresholds: np.ndarray = THRESHOLDS) -> dict:
    """Per class ``AP (len(thresholds),)`` and ``AR``, and the mean over classes with ground truth."""
    classes = sorted({int(c) for s in sequences for c in np.concatenate([s.gt.classes, s.pred.classes])})
    per_class = {}
    for c in classes:
        score, hit, num_gt = ranked_hits(sequences, c, area_track_iou, thresholds)
        if num_gt == 0:
            continue
        ap, ar = [], []
        for row in hit:
            rec, prec = pr_curve(score, row, np.zeros(len(row), bool), num_gt)
            ap.append(average_precision(rec, prec, "coco"))
            ar.append(float(rec[-1]) if len(rec) else 0.0)
        per_class[c] = {"AP": np.array(ap), "AR": np.array(ar)}
    ap = np.mean([r["AP"] for r in per_class.values()], axis=0) if per_class else np.zeros(len(thresholds))
    return {"thresholds": np.asarray(thresholds).tolist(), "per_class": per_class, "AP": ap,
            "mAP": float(np.mean(ap)), "mAP@0.5": float(ap[0])}
