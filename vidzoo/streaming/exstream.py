"""ExStream (Hayes et al. 2019): a per-class buffer of at most ``c`` count-weighted centroids, replayed
together with each new example to update the output layer on frozen features.

Buffer rule for an example of class ``y``: while class ``y`` holds fewer than ``c`` centroids the example is
added with count 1; when it holds ``c``, its two closest centroids (Euclidean) are merged into their
count-weighted mean (count = the sum) and then the example is added with count 1.
"""

from __future__ import annotations

import torch
from torch import nn

from vidzoo.streaming.heads import TrainableTop
from vidzoo.streaming.learner import ClassSet, parameter_bytes, tensor_bytes


class CentroidBuffer:
    """At most ``capacity`` centroids ``(n_k, D)`` with counts ``(n_k,)`` per class."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError(f"ExStream needs at least 2 centroids per class to merge, got {capacity}")
        self.capacity = int(capacity)
        self.centroids: dict[int, torch.Tensor] = {}
        self.counts: dict[int, torch.Tensor] = {}

    def add(self, x: torch.Tensor, y: int) -> None:
        """Insert ``x`` ``(D,)`` into class ``y``'s buffer, merging its two closest centroids first if it is full."""
        x = x.reshape(1, -1).float()
        if y not in self.centroids:
            self.centroids[y], self.counts[y] = x.clone(), torch.ones(1)
            return
        cents, counts = self.centroids[y], self.counts[y]
        if len(cents) >= self.capacity:
            dist = torch.cdist(cents, cents)
            dist.fill_diagonal_(float("inf"))
            i, j = divmod(int(torch.argmin(dist)), len(cents))
            i, j = min(i, j), max(i, j)
            merged = (counts[i] * cents[i] + counts[j] * cents[j]) / (counts[i] + counts[j])
            cents, counts = cents.clone(), counts.clone()
            cents[i], counts[i] = merged, counts[i] + counts[j]
            keep = torch.arange(len(cents)) != j
            cents, counts = cents[keep], counts[keep]
        self.centroids[y] = torch.cat([cents, x])
        self.counts[y] = torch.cat([counts, torch.ones(1)])

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every stored centroid ``(M, D)`` and its class ``(M,)``."""
        labels = [torch.full((len(c),), k, dtype=torch.int64) for k, c in self.centroids.items()]
        return torch.cat(list(self.centroids.values())), torch.cat(labels)

    def nbytes(self) -> int:
        return tensor_bytes(*self.centroids.values(), *self.counts.values())


class ExStream:
    """ExStream on ``dim``-dimensional features with ``capacity`` centroids per class.

    Each ``update`` adds the example to the buffer and takes one SGD step on a batch of the example plus
    ``replay_size`` centroids drawn uniformly from the whole buffer (every class).
    """

    name = "exstream"
    input_kind = "pooled"

    def __init__(self, head: nn.Linear, *, capacity: int = 20, replay_size: int = 16, lr: float = 0.01,
                 momentum: float = 0.9, weight_decay: float = 1e-5, new_classes: str = "add", seed: int = 0,
                 class_names: list[str] | None = None) -> None:
        self.buffer = CentroidBuffer(capacity)
        self.top = TrainableTop(head, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.replay_size = int(replay_size)
        self.classes = ClassSet(policy=new_classes, names=class_names)
        self.gen = torch.Generator().manual_seed(seed)

    def fit_base(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Fill the buffer with the base-phase features ``(N, D)`` (same rule as the stream); the head
        keeps the base model's classifier."""
        for x, y in zip(features, labels.tolist()):
            self.classes.known.add(int(y))
            self.buffer.add(x, int(y))
        self.top.ensure_classes(int(labels.max()) + 1)

    def update(self, x: torch.Tensor, y: int) -> None:
        """Learn one example ``x`` ``(D,)`` of class ``y``."""
        y = int(y)
        self.classes.admit(y)
        self.top.ensure_classes(y + 1)
        stored, stored_y = self.buffer.all()
        pick = torch.randint(len(stored), (min(self.replay_size, len(stored)),), generator=self.gen)
        batch = torch.cat([x.reshape(1, -1).float(), stored[pick]])
        targets = torch.cat([torch.tensor([y]), stored_y[pick]])
        self.top.step(batch, targets)
        self.buffer.add(x, y)

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` -> ``(N, K)`` logits (unknown classes ``-inf``)."""
        return self.classes.mask(self.top.scores(features.float()))

    def memory_bytes(self) -> int:
        """The centroid buffer plus the output layer."""
        return self.buffer.nbytes() + parameter_bytes(self.top.module)
