"""Average precision from ranked detections: all-point (VOC 2010+), VOC 11-point and COCO 101-point.

Input is one class's detections over the whole set: scores, true/false-positive flags, an "ignored"
flag (matched to an ignored ground truth: neither TP nor FP), and the number of ground-truth boxes.
"""

from __future__ import annotations

import numpy as np

METHODS = ("all", "voc11", "coco")


def pr_curve(scores: np.ndarray, tp: np.ndarray, ignored: np.ndarray, num_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision ``(K,)`` after each kept detection in descending score (stable for ties)."""
    order = np.argsort(-np.asarray(scores, float), kind="mergesort")
    keep = ~np.asarray(ignored, bool)[order]
    hit = np.asarray(tp, bool)[order][keep]
    tps = np.cumsum(hit, dtype=float)
    fps = np.cumsum(~hit, dtype=float)
    recall = tps / num_gt if num_gt > 0 else np.zeros_like(tps)
    precision = tps / np.maximum(tps + fps, np.finfo(float).eps)
    return recall, precision


def average_precision(recall: np.ndarray, precision: np.ndarray, method: str = "all") -> float:
    """Area under the interpolated precision-recall curve (precision made non-increasing in recall)."""
    if method not in METHODS:
        raise ValueError(f"unknown AP method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "voc11":
        return float(np.mean([precision[recall >= t].max() if np.any(recall >= t) else 0.0
                              for t in np.arange(0.0, 1.1, 0.1)]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    if method == "coco":
        thresholds = np.linspace(0.0, 1.0, 101)
        idx = np.searchsorted(recall, thresholds, side="left")
        q = np.zeros(len(thresholds))
        ok = idx < len(envelope)
        q[ok] = envelope[idx[ok]]
        return float(q.mean())
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], envelope, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))
