"""The stream protocol: which example arrives when, and where the evaluation points (increments) fall.

An example is one clip of one training video, ``(video, clip)``; a video contributes ``clips_per_video``
clips in temporal order. Every ordering presents each example exactly once (the protocol's "seen once" rule);
they differ only in the order:

* ``iid``: all examples shuffled.
* ``class_iid``: each class arrives as one contiguous block (classes in a shuffled order); inside a block the
  examples are shuffled.
* ``instance``: videos in a shuffled order, the clips of each video consecutive and in temporal order.
* ``class_instance``: class blocks as in ``class_iid``, inside a block videos as in ``instance``.

Increments are the evaluation points. For the class orderings they close after every
``classes_per_increment`` classes; for ``iid`` / ``instance`` the stream is cut into ``num_increments`` chunks
of (nearly) equal length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vidzoo.errors import ConfigValueError

ORDERINGS = ("iid", "class_iid", "instance", "class_instance")


@dataclass(frozen=True)
class Stream:
    """An ordered stream: ``order`` is ``(N, 2)`` int64 rows of ``(video, clip)``; ``labels`` ``(N,)``;
    ``increment_ends`` are the exclusive end positions of the increments (the last one is ``N``)."""

    order: np.ndarray
    labels: np.ndarray
    increment_ends: tuple[int, ...]

    def __len__(self) -> int:
        return int(self.order.shape[0])


def _video_rows(video: int, clips: int) -> list[tuple[int, int]]:
    return [(video, c) for c in range(clips)]


def _shuffled(items: Sequence, rng: np.random.Generator) -> list:
    return [items[i] for i in rng.permutation(len(items))]


def _equal_chunks(n: int, parts: int) -> tuple[int, ...]:
    parts = max(1, min(parts, n))
    return tuple(int(round(n * (k + 1) / parts)) for k in range(parts))


def make_stream(
    video_labels: Sequence[int],
    ordering: str,
    *,
    clips_per_video: int = 1,
    seed: int = 0,
    classes_per_increment: int = 1,
    num_increments: int | None = None,
) -> Stream:
    """Order the clips of the videos whose labels are ``video_labels`` (``(V,)``, one label per video).

    ``num_increments`` (iid / instance) defaults to the number of class blocks the class orderings would make,
    so that every ordering is evaluated equally often.
    """
    if ordering not in ORDERINGS:
        raise ConfigValueError(f"unknown ordering {ordering!r}; choose one of {', '.join(ORDERINGS)}")
    if clips_per_video < 1 or classes_per_increment < 1:
        raise ConfigValueError("streaming.clips_per_video and streaming.classes_per_increment must be >= 1")
    labels = np.asarray(video_labels, dtype=np.int64)
    if labels.size == 0:
        raise ConfigValueError("the stream is empty: no training video belongs to a stream class; lower base_classes")
    rng = np.random.default_rng(seed)
    classes = _shuffled(sorted(set(labels.tolist())), rng)
    blocks = [classes[i : i + classes_per_increment] for i in range(0, len(classes), classes_per_increment)]
    by_class = {c: np.flatnonzero(labels == c).tolist() for c in classes}
    temporal = ordering in ("instance", "class_instance")

    def arrange(videos: list[int]) -> list[tuple[int, int]]:
        if temporal:
            return [row for v in _shuffled(videos, rng) for row in _video_rows(v, clips_per_video)]
        return _shuffled([row for v in videos for row in _video_rows(v, clips_per_video)], rng)

    if ordering in ("class_iid", "class_instance"):
        rows: list[tuple[int, int]] = []
        ends = []
        for block in blocks:
            for c in block:
                rows += arrange(by_class[c])
            ends.append(len(rows))
        increment_ends = tuple(ends)
    else:
        rows = arrange(list(range(len(labels))))
        increment_ends = _equal_chunks(len(rows), num_increments or len(blocks))
    order = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    return Stream(order=order, labels=labels[order[:, 0]], increment_ends=increment_ends)


def split_base_classes(class_names: Sequence[str], base: int | Sequence[str], seed: int = 0) -> list[int]:
    """The indices of the base classes: the first ``base`` classes (an int) or the ones named (a list)."""
    if isinstance(base, int):
        if not 0 < base < len(class_names):
            raise ConfigValueError(
                f"base_classes={base} must be between 1 and {len(class_names) - 1} (the dataset has "
                f"{len(class_names)} classes; the rest form the stream)"
            )
        return list(range(base))
    unknown = [n for n in base if n not in class_names]
    if unknown:
        raise ConfigValueError(f"base_classes names {unknown[0]!r}, which is not a class of the dataset; "
                               f"choose from {', '.join(class_names)}")
    return sorted(class_names.index(n) for n in base)
