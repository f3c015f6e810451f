"""Speed-based mAP (ImageNet VID, as in FGFA, Zhu et al. 2017): mAP on slow, medium and fast objects.

An object's motion IoU at frame t is the mean IoU of its box with its own boxes at t - 10 and t + 10
(those that exist). Boxes with motion IoU > 0.9 are slow, 0.7-0.9 medium, < 0.7 fast; a box with no
neighbour 10 frames away has no speed and is ignored in every bin. For each bin, ground truth of the
other bins is ignored (a detection matched to it is neither TP nor FP) and unmatched detections are
false positives; AP is the all-point VOC AP at IoU 0.5.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.boxes import paired_iou
from vidzoo.eval.detection import class_ap, flatten, greedy_match
from vidzoo.eval.tracks import Sequence, Tracks


def motion_iou(tracks: Tracks, gap: int = 10) -> np.ndarray:
    """``(N,)`` mean IoU of each box with the same id's boxes ``gap`` frames before and after (NaN if none)."""
    span = int(tracks.frames.max(initial=0)) + 2 * gap + 1
    key = tracks.ids * span + tracks.frames
    order = np.argsort(key, kind="stable")
    total, count = np.zeros(len(key)), np.zeros(len(key))
    for shift in (-gap, gap):
        pos = np.searchsorted(key[order], key + shift)
        pos = np.minimum(pos, len(key) - 1)
        hit = (key[order][pos] == key + shift) if len(key) else np.zeros(0, bool)
        other = order[pos[hit]]
        total[hit] += paired_iou(tracks.boxes[hit], tracks.boxes[other])
        count[hit] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def speed_bins(values: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the slow / medium / fast bins for motion IoU ``values``."""
    return {"slow": values > 0.9, "medium": (values >= 0.7) & (values <= 0.9), "fast": values < 0.7}


def speed_map(sequences: list[Sequence], iou: float = 0.5, method: str = "all", gap: int = 10) -> dict:
    """mAP and per-class AP in each speed bin, with the number of ground-truth boxes in each."""
    gt, det = flatten(sequences, "gt"), flatten(sequences, "pred")
    speed = np.concatenate([motion_iou(s.gt, gap) for s in sequences]) if sequences else np.zeros(0)
    # flatten() orders rows by (image, class); rebuild that order for the per-sequence motion IoU.
    offsets = np.cumsum([0] + [s.num_frames for s in sequences])
    image = np.concatenate([s.gt.frames + o for s, o in zip(sequences, offsets)]) if sequences else np.zeros(0)
    classes = np.concatenate([s.gt.classes for s in sequences]) if sequences else np.zeros(0)
    speed = speed[np.lexsort((classes, image))]
    out = {}
    for name, in_bin in speed_bins(speed).items():
        ignore = ~in_bin
        match, kept = greedy_match(gt, det, np.array([iou]), gt_ignore=ignore)
        classes_ = sorted(set(gt.classes[in_bin].tolist()))
        ap = {c: float(class_ap(gt, det, match, kept, c, method, gt_ignore=ignore)[0]) for c in classes_}
        out[name] = {"mAP": float(np.mean(list(ap.values()))) if ap else float("nan"), "AP": ap,
                     "num_gt": int(in_bin.sum())}
    return out
