"""The unsupervised pre-training protocol a model may implement, and helpers shared by the families that do.

The shared trainer (``vidzoo.engine.pretraining``) runs ``trainer.pretrain_epochs`` of a model's own objective
before supervised training when the model has these three methods:

* ``pretrain_parameters() -> list[nn.Parameter]``: what pre-training updates. These parameters are built frozen
  (``requires_grad=False``), so the supervised optimiser trains only the rest (the classifier on top), as in
  the papers; pre-training unfreezes them for its own optimiser and freezes them again at the end.
* ``pretrain_loss(clips, progress) -> (loss, stats)``: a scalar whose gradient is the update direction (for
  contrastive divergence it is a surrogate whose gradient *is* the CD estimate, see ``conv_grbm``) and a dict
  of floats to log. ``clips`` is a normalised batch ``(B, C, T, H, W)``; ``progress`` in ``[0, 1)`` is the
  fraction of pre-training done (greedy layer-wise schedules use it).
* ``after_pretrain_step()``: called after every optimiser step (a projection onto a constraint set, e.g. ISA's
  orthonormal rows).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn


@runtime_checkable
class Pretrainable(Protocol):
    """A model with an unsupervised pre-training objective (see the module docstring)."""

    def pretrain_parameters(self) -> list[nn.Parameter]: ...

    def pretrain_loss(self, clips: Tensor, progress: float) -> tuple[Tensor, dict[str, float]]: ...

    def after_pretrain_step(self) -> None: ...


def freeze(params: list[nn.Parameter]) -> None:
    """Mark ``params`` as not trained by the supervised optimiser."""
    for p in params:
        p.requires_grad_(False)


def to_gray(x: Tensor) -> Tensor:
    """``(B, C, T, H, W) -> (B, 1, T, H, W)``: the channel mean (the papers learn from grey-level video)."""
    return x.mean(dim=1, keepdim=True)


def grid_features(maps: Tensor, grid: int) -> Tensor:
    """``(B, K, T, H, W) -> (B, K * grid * grid)``: mean over time and over each cell of a ``grid x grid`` split."""
    return nn.functional.adaptive_avg_pool3d(maps, (1, grid, grid)).flatten(1)


class LinearHead(nn.Sequential):
    """Feature standardisation (batch statistics, no learned affine) followed by a linear classifier."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__(nn.BatchNorm1d(in_features, affine=False), nn.Linear(in_features, num_classes))


@torch.no_grad()
def orthonormalize_rows(weight: Tensor) -> None:
    """Replace ``weight`` (k x d, k <= d) in place by the nearest matrix with orthonormal rows, ``(W W^T)^-1/2 W``."""
    u, _, vh = torch.linalg.svd(weight.double(), full_matrices=False)
    weight.copy_((u @ vh).to(weight.dtype))
