"""Columnar containers for boxes over time: one row per box, sorted by frame.

A ``Tracks`` holds ground truth or predictions of one sequence; a ``Sequence`` pairs them. Frames are
0-based indices into the sequence; ids are the track identities as read (any integers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class Tracks:
    """Boxes of one sequence: ``frames, ids, classes (N,)`` int, ``boxes (N, 4)`` x1y1x2y2, ``scores (N,)``."""

    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @staticmethod
    def build(frames: ArrayLike, ids: ArrayLike, boxes: ArrayLike, scores: ArrayLike | None = None,
              classes: ArrayLike | None = None) -> "Tracks":
        """Validate shapes, fill scores (1.0) and classes (0), and sort rows by frame (stable)."""
        frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        n = len(frames)
        ids = np.asarray(ids, dtype=np.int64).reshape(n)
        boxes = np.asarray(boxes, dtype=float).reshape(n, 4)
        scores = np.ones(n) if scores is None else np.asarray(scores, dtype=float).reshape(n)
        classes = np.zeros(n, np.int64) if classes is None else np.asarray(classes, dtype=np.int64).reshape(n)
        order = np.argsort(frames, kind="stable")
        return Tracks(frames[order], ids[order], boxes[order], scores[order], classes[order])

    @staticmethod
    def empty() -> "Tracks":
        return Tracks.build(np.zeros(0), np.zeros(0), np.zeros((0, 4)))

    def __len__(self) -> int:
        return len(self.frames)

    def select(self, mask: np.ndarray) -> "Tracks":
        """The rows where ``mask`` is true (order kept)."""
        return Tracks(self.frames[mask], self.ids[mask], self.boxes[mask], self.scores[mask], self.classes[mask])


@dataclass(frozen=True)
class Sequence:
    """One video: its ground truth, its predictions and its length in frames."""

    name: str
    gt: Tracks
    pred: Tracks
    num_frames: int

    def for_class(self, cls: int) -> "Sequence":
        """The same sequence restricted to one class on both sides."""
        return Sequence(self.name, self.gt.select(self.gt.classes == cls), self.pred.select(self.pred.classes == cls),
                        self.num_frames)

    def classes(self) -> list[int]:
        """Every class present in ground truth or predictions, sorted."""
        return sorted(set(np.unique(self.gt.classes).tolist()) | set(np.unique(self.pred.classes).tolist()))
