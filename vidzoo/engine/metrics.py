"""Classification metrics over score matrices: top-k, per-class accuracy, confusion matrix."""

from __future__ import annotations

import numpy as np


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows of ``scores`` (N, K) whose true label is among the k highest scores."""
    if len(labels) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    topk = np.argpartition(-scores, kth=k - 1, axis=1)[:, :k]
    return float((topk == labels[:, None]).any(axis=1).mean())


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts; row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for classes with no samples)."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def classification_report(
    video_scores: np.ndarray,
    video_labels: np.ndarray,
    clip_scores: np.ndarray,
    clip_labels: np.ndarray,
    class_names: list[str],
) -> dict:
    """Clip- and video-level top-1/top-5, per-class accuracy and the confusion matrix, JSON-ready."""
    k = len(class_names)
    cm = confusion_matrix(video_scores.argmax(1), video_labels, k) if len(video_labels) else np.zeros((k, k), int)
    per_class = per_class_accuracy(cm)
    return {
        "video_top1": topk_accuracy(video_scores, video_labels, 1),
        "video_top5": topk_accuracy(video_scores, video_labels, 5),
        "clip_top1": topk_accuracy(clip_scores, clip_labels, 1),
        "clip_top5": topk_accuracy(clip_scores, clip_labels, 5),
        "num_videos": int(len(video_labels)),
        "num_clips": int(len(clip_labels)),
        "per_class_accuracy": {c: (None if np.isnan(a) else float(a)) for c, a in zip(class_names, per_class)},
        "mean_class_accuracy": float(np.nanmean(per_class)) if np.isfinite(per_class).any() else float("nan"),
        "confusion_matrix": cm.tolist(),
    }
