"""Stream evaluation: video accuracy on the seen classes, Omega, per-class forgetting.

Omega (Hayes et al. 2018) is the mean over evaluation points of ``accuracy / offline accuracy``, where the
offline model is trained on everything seen up to that point; 1.0 means "as good as retraining offline".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def video_predictions(scores: torch.Tensor, views: int) -> torch.Tensor:
    """Clip scores ``(V*views, K)`` (a video's views consecutive) -> predicted class per video ``(V,)``,
    from the scores averaged over the views."""
    return scores.reshape(-1, views, scores.shape[-1]).mean(1).argmax(1)


def seen_accuracy(pred: torch.Tensor, labels: torch.Tensor, seen: set[int]) -> tuple[float, dict[int, float]]:
    """Accuracy over the videos whose class is in ``seen``, and the accuracy of each seen class."""
    keep = torch.tensor([int(y) in seen for y in labels.tolist()], dtype=torch.bool)
    if not keep.any():
        return float("nan"), {}
    correct = (pred == labels)[keep].float()
    per_class = {c: float((pred[labels == c] == c).float().mean()) for c in sorted(seen) if (labels == c).any()}
    return float(correct.mean()), per_class


def omega(accuracies: Sequence[float], offline: Sequence[float]) -> float:
    """Mean of ``accuracy / offline accuracy`` over the evaluation points (points with offline 0 are skipped)."""
    ratios = [a / o for a, o in zip(accuracies, offline) if o > 0]
    return float(np.mean(ratios)) if ratios else float("nan")


def forgetting(per_class_history: Sequence[dict[int, float]]) -> dict[int, float]:
    """Per class: its best accuracy at any earlier evaluation point minus its accuracy at the last one."""
    if not per_class_history:
        return {}
    final = per_class_history[-1]
    out = {}
    for c, last in final.items():
        earlier = [h[c] for h in per_class_history[:-1] if c in h]
        out[c] = max(0.0, max(earlier) - last) if earlier else 0.0
    return out
