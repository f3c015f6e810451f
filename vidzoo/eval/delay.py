"""Average Delay (Mao, Yang & Dally, ICCV 2019): how many frames an object is visible before it is detected.

Detections are matched per frame and class at IoU 0.5 (greedy in score order). For a false-positive rate
r, the score threshold is the lowest one that leaves at most ``floor(r * frames)`` unmatched detections
over the whole set. An object's delay at that threshold is the number of frames from its first
appearance to the first frame in which a detection above the threshold matches it; an object never
detected counts its whole span (last frame - first frame + 1). AD is the mean delay over objects,
averaged over the false-positive rates.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.detection import flatten, greedy_match
from vidzoo.eval.tracks import Sequence

FP_RATES = (0.01, 0.02, 0.04, 0.08, 0.16)


def score_threshold(unmatched_scores: np.ndarray, num_frames: int, rate: float) -> float:
    """Detections scoring strictly above the returned value make at most ``floor(rate * num_frames)`` FPs."""
    allowed = int(np.floor(rate * num_frames + 1e-9))
    s = np.sort(np.asarray(unmatched_scores, float))[::-1]
    return float(s[allowed]) if allowed < len(s) else -np.inf


def average_delay(sequences: list[Sequence], fp_rates: tuple[float, ...] = FP_RATES, iou: float = 0.5) -> dict:
    """AD over ``fp_rates`` and the mean delay (frames) at each rate, with the number of objects."""
    gt, det = flatten(sequences, "gt"), flatten(sequences, "pred")
    match, kept = greedy_match(gt, det, np.array([iou]))
    m = match[0]
    hit_score = np.full(len(gt.image), -np.inf)
    hit_score[m[m >= 0]] = det.scores[m >= 0]
    unmatched = det.scores[(m < 0) & kept]
    num_frames = sum(s.num_frames for s in sequences)
    # Objects: (sequence, id); rows in time order within each.
    obj_key = gt.seq * (int(gt.ids.max(initial=0)) + 1) + gt.ids
    order = np.lexsort((gt.image, obj_key))
    keys, start = np.unique(obj_key[order], return_index=True)
    end = np.append(start[1:], len(order))
    first = gt.image[order][start]
    span = gt.image[order][end - 1] - first + 1
    per_rate = {}
    for rate in fp_rates:
        thr = score_threshold(unmatched, num_frames, rate)
        detected = hit_score[order] > thr
        # First detected row of each object (or none): index of the first True at or after its start.
        idx = np.append(np.flatnonzero(detected), len(order))  # sentinel: "never"
        nxt = idx[np.searchsorted(idx, start)]
        found = nxt < end
        delay = np.where(found, gt.image[order][np.minimum(nxt, len(order) - 1)] - first, span)
        per_rate[rate] = {"delay": float(np.mean(delay)) if len(keys) else float("nan"), "threshold": thr}
    return {"AD": float(np.mean([r["delay"] for r in per_rate.values()])), "per_rate": per_rate,
            "num_objects": int(len(keys))}
