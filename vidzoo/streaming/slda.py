"""Deep SLDA (Hayes & Kanan 2020): streaming linear discriminant analysis on frozen backbone features.

State: one running mean and count per class, and a covariance matrix shared by all classes. Each example
moves its class mean by ``(x - mu_y) / (n_y + 1)``. The covariance is the pooled within-class covariance,
``Sigma = S / N`` with ``S = sum_k sum_{i in k} (x_i - mu_k)(x_i - mu_k)^T``, updated in streaming with the
exact one-pass (Welford) rule ``S += n_y / (n_y + 1) * (x - mu_y)(x - mu_y)^T`` (``plastic=True``) or kept
as it was after the base phase (``plastic=False``). The exact rule makes the streaming state equal the batch
estimates; the paper's update weights by the total count instead, an approximation of the same quantity.

Prediction (the paper's equations): ``Lambda = ((1 - eps) Sigma + eps I)^-1``, ``W = mu Lambda``,
``b = -1/2 diag(mu Lambda mu^T)``, scores ``X W^T + b``. State is float64 for the exactness above.
"""

from __future__ import annotations

import torch

from vidzoo.streaming.learner import ClassSet, tensor_bytes


class StreamingLDA:
    """Deep SLDA on ``dim``-dimensional features.

    Args:
        dim: feature size D.
        shrinkage: eps in ``(1 - eps) Sigma + eps I`` (the paper uses 1e-4).
        plastic: update the covariance with every stream example (else keep the base-phase estimate).
        new_classes: ``add`` or ``refuse`` a label the learner was not told about.
    """

    name = "slda"
    input_kind = "pooled"

    def __init__(self, dim: int, *, shrinkage: float = 1e-4, plastic: bool = True, new_classes: str = "add",
                 class_names: list[str] | None = None) -> None:
        self.dim = int(dim)
        self.shrinkage = float(shrinkage)
        self.plastic = bool(plastic)
        self.classes = ClassSet(policy=new_classes, names=class_names)
        self.means = torch.zeros(0, self.dim, dtype=torch.float64)
        self.counts = torch.zeros(0, dtype=torch.float64)
        self.scatter = torch.zeros(self.dim, self.dim, dtype=torch.float64)
        self.total = 0
        self._precision: torch.Tensor | None = None

    def _grow(self, num_classes: int) -> None:
        extra = num_classes - self.means.shape[0]
        if extra > 0:
            self.means = torch.cat([self.means, torch.zeros(extra, self.dim, dtype=torch.float64)])
            self.counts = torch.cat([self.counts, torch.zeros(extra, dtype=torch.float64)])

    @property
    def covariance(self) -> torch.Tensor:
        """The pooled within-class covariance ``(D, D)`` (``S / N``)."""
        return self.scatter / max(self.total, 1)

    def fit_base(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """Batch estimates of the means, counts and covariance from the base phase: ``(N, D)``, ``(N,)``."""
        x = features.to(torch.float64).reshape(len(features), self.dim)
        y = labels.to(torch.int64)
        for c in torch.unique(y).tolist():
            self.classes.known.add(int(c))
        self._grow(int(y.max()) + 1)
        self.counts.index_add_(0, y, torch.ones(len(y), dtype=torch.float64))
        sums = torch.zeros_like(self.means).index_add_(0, y, x)
        self.means = torch.where(self.counts[:, None] > 0, sums / self.counts.clamp(min=1)[:, None], self.means)
        centred = x - self.means[y]
        self.scatter = centred.T @ centred
        self.total = len(y)
        self._precision = None

    def update(self, x: torch.Tensor, y: int) -> None:
        """Learn one example: ``x`` ``(D,)`` of class ``y``."""
        y = int(y)
        self.classes.admit(y)
        self._grow(y + 1)
        x = x.to(torch.float64).reshape(self.dim)
        delta = x - self.means[y]
        n = self.counts[y].item()
        if self.plastic:
            self.scatter.addr_(delta, delta, alpha=n / (n + 1.0))
            self.total += 1
            self._precision = None
        self.means[y] += delta / (n + 1.0)
        self.counts[y] += 1.0

    def precision(self) -> torch.Tensor:
        """``Lambda = ((1 - eps) Sigma + eps I)^-1``, ``(D, D)``, cached until the covariance changes."""
        if self._precision is None:
            eye = torch.eye(self.dim, dtype=torch.float64)
            self._precision = torch.linalg.pinv((1 - self.shrinkage) * self.covariance + self.shrinkage * eye,
                                                hermitian=True)
        return self._precision

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, D)`` features -> ``(N, K)`` discriminant scores (unknown classes ``-inf``)."""
        weights = self.means @ self.precision()
        bias = -0.5 * (weights * self.means).sum(1)
        out = features.to(torch.float64).reshape(len(features), self.dim) @ weights.T + bias
        return self.classes.mask(out.float())

    def memory_bytes(self) -> int:
        """Means, counts and the covariance (the precision is derived from them)."""
        return tensor_bytes(self.means, self.counts, self.scatter)
