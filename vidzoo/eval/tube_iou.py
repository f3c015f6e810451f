"""Overlap of whole tracks/tubes: every (gt track, predicted track) pair of one sequence at once.

Both sides are ``Tracks`` of one sequence; a track is the set of rows sharing an id. Per-frame box
overlaps are computed in one vectorised pass over same-frame pairs and summed per track pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from vidzoo.eval.boxes import frame_pairs, paired_iou
from vidzoo.eval.tracks import Sequence, Tracks


@dataclass(frozen=True)
class TrackSet:
    """Dense track index per row ``(N,)`` plus per-track ``ids, first, last (K,)`` frames and ``score (K,)``
    (mean of the rows' scores)."""

    index: np.ndarray
    ids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    score: np.ndarray
    classes: np.ndarray


Overlap = Callable[[Tracks, Tracks], tuple[np.ndarray, TrackSet, TrackSet]]


def track_set(t: Tracks) -> TrackSet:
    """Group rows into tracks by id."""
    ids, index = np.unique(t.ids, return_inverse=True)
    index = index.reshape(-1)
    k = len(ids)
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, -1)
    np.minimum.at(first, index, t.frames)
    np.maximum.at(last, index, t.frames)
    score = np.bincount(index, t.scores, minlength=k) / np.maximum(np.bincount(index, minlength=k), 1)
    classes = np.zeros(k, np.int64)
    classes[index] = t.classes
    return TrackSet(index, ids, first, last, score, classes)


def _pair_sums(gt: Tracks, pred: Tracks, gs: TrackSet, ps: TrackSet, values: str) -> tuple[np.ndarray, np.ndarray]:
    """Per (pred track, gt track): summed per-frame ``values`` ("iou" or "inter") and shared-frame count."""
    n = int(max(gt.frames.max(initial=-1), pred.frames.max(initial=-1))) + 1
    gi, pi = frame_pairs(gt.frames, pred.frames, n)
    a, b = gt.boxes[gi], pred.boxes[pi]
    if values == "iou":
        v = paired_iou(a, b)
    else:
        iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
        ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
        v = np.maximum(iw, 0) * np.maximum(ih, 0)
    G, P = len(gs.ids), len(ps.ids)
    key = ps.index[pi] * G + gs.index[gi]
    return (np.bincount(key, v, minlength=P * G).reshape(P, G),
            np.bincount(key, minlength=P * G).reshape(P, G).astype(float))


def _area_sums(t: Tracks, s: TrackSet) -> np.ndarray:
    """Summed box area of each track ``(K,)``."""
    return np.bincount(s.index, (t.boxes[:, 2] - t.boxes[:, 0]) * (t.boxes[:, 3] - t.boxes[:, 1]), minlength=len(s.ids))


def area_track_iou(gt: Tracks, pred: Tracks) -> tuple[np.ndarray, TrackSet, TrackSet]:
    """3D IoU ``(P, G)``: summed intersection area over summed union area across all frames of both tracks."""
    gs, ps = track_set(gt), track_set(pred)
    inter, _ = _pair_sums(gt, pred, gs, ps, "inter")
    union = _area_sums(pred, ps)[:, None] + _area_sums(gt, gs)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0), gs, ps


def spatiotemporal_iou(gt: Tracks, pred: Tracks) -> tuple[np.ndarray, TrackSet, TrackSet]:
    """Tube IoU ``(P, G)`` (UCF101-24 / J-HMDB protocol): temporal IoU of the frame spans times the mean
    per-frame IoU over the frames both tubes cover."""
    gs, ps = track_set(gt), track_set(pred)
    iou_sum, shared = _pair_sums(gt, pred, gs, ps, "iou")
    inter = np.minimum(ps.last[:, None], gs.last[None, :]) - np.maximum(ps.first[:, None], gs.first[None, :]) + 1
    union = np.maximum(ps.last[:, None], gs.last[None, :]) - np.minimum(ps.first[:, None], gs.first[None, :]) + 1
    t_iou = np.maximum(inter, 0) / union
    spatial = np.where(shared > 0, iou_sum / np.maximum(shared, 1), 0.0)
    return t_iou * spatial, gs, ps


def greedy_tracks(ious: np.ndarray, order: np.ndarray, threshold: float) -> np.ndarray:
    """Predicted tracks in ``order`` take the best still-free gt with IoU >= threshold (-1: none), ``(P,)``."""
    match = np.full(ious.shape[0], -1)
    free = np.ones(ious.shape[1], bool)
    limit = min(threshold, 1 - 1e-10) - np.finfo(float).eps
    for d in order:
        ok = free & (ious[d] >= limit)
        if ok.any():
            g = len(free) - 1 - np.argmax(np.where(ok, ious[d], -1.0)[::-1])  # the last of equal IoUs
            free[g] = False
            match[d] = g
    return match


def ranked_hits(sequences: list[Sequence], cls: int, overlap: Overlap, thresholds: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Predicted tracks of class ``cls`` over all sequences: ``scores (P,)``, ``hits (len(thresholds), P)``
    (matched by ``greedy_tracks`` with ``overlap(gt, pred)``), and the number of gt tracks."""
    scores, hits, num_gt = [], [], 0
    for s in sequences:
        s = s.for_class(cls)
        ious, gs, ps = overlap(s.gt, s.pred)
        num_gt += len(gs.ids)
        order = np.argsort(-ps.score, kind="mergesort")
        scores.append(ps.score)
        hit = [greedy_tracks(ious, order, t) >= 0 for t in thresholds]
        hits.append(np.array(hit).reshape(len(thresholds), -1))
    return np.concatenate(scores), np.concatenate(hits, axis=1), num_gt
