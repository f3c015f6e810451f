"""Spatio-temporal action localisation (Gkioxari & Malik 2015; UCF101-24 / J-HMDB protocols).

Each ``Sequence`` is one video. Ground-truth tubes are its gt rows grouped by id, labelled by class;
predicted tubes likewise, scored by the mean of their rows' scores.

* frame-mAP: every predicted box is a detection in its frame, matched at IoU 0.5 to a gt box of its
  class; all-point (VOC) AP per class, averaged.
* video-mAP at delta: predicted tubes of a class, in descending score over all videos, each takes the
  still-free gt tube of that class and video with the highest spatio-temporal IoU >= delta (temporal
  IoU x mean per-frame IoU over shared frames); all-point AP per class, averaged. Reported at 0.2, 0.5
  and averaged over 0.5:0.05:0.95.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.ap import average_precision, pr_curve
from vidzoo.eval.detection import class_ap, flatten, greedy_match
from vidzoo.eval.tube_iou import ranked_hits, spatiotemporal_iou
from vidzoo.eval.tracks import Sequence

VIDEO_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


def frame_map(videos: list[Sequence], iou: float = 0.5) -> dict:
    """Per-class frame AP and frame-mAP at one IoU threshold."""
    gt, det = flatten(videos, "gt"), flatten(videos, "pred")
    match, kept = greedy_match(gt, det, np.array([iou]), max_dets=np.iinfo(np.int64).max)
    ap = {int(c): float(class_ap(gt, det, match, kept, int(c), "all")[0]) for c in np.unique(gt.classes)}
    return {"AP": ap, "mAP": float(np.mean(list(ap.values()))) if ap else 0.0}


def video_ap(videos: list[Sequence], cls: int, thresholds: np.ndarray) -> np.ndarray:
    """Video AP of one class at each threshold ``(len(thresholds),)``."""
    score, hit, num_gt = ranked_hits(videos, cls, spatiotemporal_iou, thresholds)
    out = []
    for row in hit:
        rec, prec = pr_curve(score, row, np.zeros(len(row), bool), num_gt)
        out.append(average_precision(rec, prec, "all"))
    return np.array(out)


def video_map(videos: list[Sequence]) -> dict:
    """video-mAP at 0.2, 0.5 and averaged over 0.5:0.95, with the per-class APs."""
    thresholds = np.concatenate([[0.2], VIDEO_THRESHOLDS])
    classes = sorted({int(c) for v in videos for c in v.gt.classes})
    table = {c: video_ap(videos, c, thresholds) for c in classes}
    mean = np.mean(list(table.values()), axis=0) if table else np.zeros(len(thresholds))
    return {"AP": {c: a.tolist() for c, a in table.items()}, "thresholds": thresholds.tolist(),
            "mAP@0.2": float(mean[0]), "mAP@0.5": float(mean[1]), "mAP@0.5:0.95": float(np.mean(mean[1:]))}
