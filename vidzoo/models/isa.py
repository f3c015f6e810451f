"""Stacked convolutional ISA (Le, Zou, Yeung & Ng 2011, CVPR, "Learning hierarchical invariant spatio-temporal
features for action recognition with independent subspace analysis").

An ISA layer whitens a video block with PCA, projects it on ``units`` filters ``W`` with orthonormal rows, squares
the responses and pools them over fixed subspaces of ``group`` units: ``p_i = sqrt(sum_{j in subspace i}
(W_j x)^2)``. Training minimises the summed pooled responses (sparsity) subject to ``W W^T = I``: a gradient step
followed by the projection ``W <- (W W^T)^(-1/2) W`` (batch projected gradient descent).

Stacking: layer 1 is learned on small blocks; it is then *convolved* over larger blocks (with a stride), and
layer 2 learns on the PCA-whitened concatenation of a ``2 x 2 x 2`` neighbourhood of layer-1 outputs. Both
layers are convolutions here (``Conv3d`` with weight ``W @ P``), so a whole clip is processed at once; training a
layer on every block of a batch is the same objective as training it on sampled blocks. Layer-wise (greedy)
training follows the paper: the first half of pre-training (``progress < 0.5``) trains layer 1, the second half
layer 2; each layer fits its PCA whitening on the first batch it trains on.

Features: the pooled responses of both layers (the paper concatenates both layers' features), averaged over
time and a ``grid x grid`` spatial split, feed a standardised linear classifier (the paper clusters the
descriptors into a bag of words and trains a chi-square SVM).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidzoo.models._input_checks import check_clip
from vidzoo.models._pretrain import LinearHead, freeze, grid_features, orthonormalize_rows, to_gray
from vidzoo.models.registry import register_model

_PAPER = "Le, Zou, Yeung & Ng 2011, CVPR"
#: Blocks used to fit one PCA (a random subset of a batch's blocks).
_PCA_SAMPLES = 20000


class ISALayer(nn.Module):
    """One convolutional ISA layer over ``(B, channels, T, H, W)`` maps.

    Args:
        channels: input channels; a block is ``channels x kernel`` values.
        kernel: block size ``(t, h, w)``; stride: step between blocks.
        pca_dim: whitened dimensions kept; units: ISA filters (``units <= pca_dim``); group: subspace size.
    """

    def __init__(self, channels: int, kernel: Sequence[int], stride: Sequence[int], pca_dim: int, units: int,
                 group: int) -> None:
        super().__init__()
        if units > pca_dim or units % group:
            raise ValueError(f"ISALayer: need units <= pca_dim and units divisible by group, "
                             f"got {units}, {pca_dim}, {group}")
        self.channels, self.kernel, self.stride, self.group = channels, tuple(kernel), tuple(stride), group
        in_dim = channels * self.kernel[0] * self.kernel[1] * self.kernel[2]
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("whitening", torch.zeros(pca_dim, in_dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.weight = nn.Parameter(torch.empty(units, pca_dim))
        nn.init.orthogonal_(self.weight)

    @property
    def out_channels(self) -> int:
        return self.weight.shape[0] // self.group

    def blocks(self, x: Tensor) -> Tensor:
        """Every block of ``x`` as a row, ``(N, channels * t * h * w)`` (the ``Conv3d`` weight layout)."""
        (kt, kh, kw), (st, sh, sw) = self.kernel, self.stride
        b = x.unfold(2, kt, st).unfold(3, kh, sh).unfold(4, kw, sw)  # (B, C, T', H', W', kt, kh, kw)
        return b.permute(0, 2, 3, 4, 1, 5, 6, 7).reshape(-1, self.mean.numel())

    @torch.no_grad()
    def fit_whitening(self, x: Tensor, eps: float = 1e-5) -> None:
        """PCA whitening from the blocks of ``x``: keep the top ``pca_dim`` components, scale them to unit variance."""
        rows = self.blocks(x).double()
        if rows.shape[0] > _PCA_SAMPLES:
            rows = rows[torch.randperm(rows.shape[0], device=rows.device)[:_PCA_SAMPLES]]
        mean = rows.mean(0)
        cov = (rows - mean).T @ (rows - mean) / max(rows.shape[0] - 1, 1)
        evals, evecs = torch.linalg.eigh(cov)  # ascending
        keep = self.whitening.shape[0]
        evals, evecs = evals.flip(0)[:keep], evecs.flip(1)[:, :keep]
        self.mean.copy_(mean.float())
        self.whitening.copy_((evecs / (evals.clamp_min(0) + eps).sqrt()).T.float())
        self.fitted.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        """Pooled responses ``(B, units / group, T', H', W')`` of every block of ``x``."""
        proj = self.weight @ self.whitening  # (units, in_dim)
        filters = proj.view(-1, self.channels, *self.kernel)
        z = F.conv3d(x, filters, bias=-(proj @ self.mean), stride=self.stride)
        b, u, t, h, w = z.shape
        return (z.pow(2).view(b, u // self.group, self.group, t, h, w).sum(2) + 1e-8).sqrt()


class StackedISA(nn.Module):
    """Two stacked convolutional ISA layers and a linear classifier on their pooled responses.

    Shapes: ``(B, C, T, H, W) -> grey (B, 1, T, H, W) -> layer 1 (B, G1, T1, H1, W1) -> layer 2
    (B, G2, T2, H2, W2) -> grid features (B, (G1 + G2) * grid^2) -> (B, num_classes)``.
    """

    def __init__(self, num_classes: int, layer1: dict, layer2: dict, grid: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        self.in_channels, self.grid = in_channels, grid
        self.layer1 = ISALayer(1, **layer1)
        self.layer2 = ISALayer(self.layer1.out_channels, **layer2)
        self.head = LinearHead((self.layer1.out_channels + self.layer2.out_channels) * grid * grid, num_classes)
        freeze(self.pretrain_parameters())

    def _gray(self, clips: Tensor) -> Tensor:
        check_clip(clips, self.in_channels, "StackedISA")
        return to_gray(clips)

    def features(self, clips: Tensor) -> tuple[Tensor, Tensor]:
        """Pooled responses of layer 1 and layer 2."""
        first = self.layer1(self._gray(clips))
        return first, self.layer2(first)

    def forward(self, clips: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, num_classes)``."""
        first, second = self.features(clips)
        return self.head(torch.cat([grid_features(first, self.grid), grid_features(second, self.grid)], dim=1))

    # ---------------------------------------------------------------- pre-training protocol (models/_pretrain.py)
    def pretrain_parameters(self) -> list[nn.Parameter]:
        return [self.layer1.weight, self.layer2.weight]

    def pretrain_loss(self, clips: Tensor, progress: float) -> tuple[Tensor, dict[str, float]]:
        """The ISA objective (mean summed pooled response per block) of layer 1, then of layer 2 (greedy)."""
        x = self._gray(clips)
        layer = self.layer1
        if progress >= 0.5:
            with torch.no_grad():
                x = self.layer1(x)
            layer = self.layer2
        if not bool(layer.fitted):
            layer.fit_whitening(x)
        pooled = layer(x)
        loss = pooled.sum(1).mean()
        return loss, {"isa_layer": 1.0 if layer is self.layer1 else 2.0}

    def after_pretrain_step(self) -> None:
        """Project both layers back onto orthonormal rows."""
        orthonormalize_rows(self.layer1.weight)
        orthonormalize_rows(self.layer2.weight)


@register_model("isa", input_shape=(3, 14, 80, 80), family="Stacked ISA", paper=_PAPER)
def isa(num_classes: int = 12, grid: int = 3) -> StackedISA:
    """Full size (the paper's Hollywood2 network): layer 1 on 16x16x10 blocks (PCA to 300, 300 units, subspaces
    of 2), convolved with stride 4; layer 2 on 2x2x2 layer-1 outputs, i.e. 20x20x14 blocks (PCA to 200, 200
    units, subspaces of 4)."""
    return StackedISA(num_classes, dict(kernel=(10, 16, 16), stride=(4, 4, 4), pca_dim=300, units=300, group=2),
                      dict(kernel=(2, 2, 2), stride=(1, 1, 1), pca_dim=200, units=200, group=4), grid=grid)


@register_model("isa_small", input_shape=(3, 8, 56, 56), family="Stacked ISA", paper=_PAPER)
def isa_small(num_classes: int = 9, grid: int = 3) -> StackedISA:
    """CPU size: layer 1 on 8x8x4 blocks (PCA to 64, 64 units, subspaces of 2) with stride (2, 4, 4); layer 2 on
    2x2x2 layer-1 outputs (PCA to 64, 32 units, subspaces of 4)."""
    return StackedISA(num_classes, dict(kernel=(4, 8, 8), stride=(2, 4, 4), pca_dim=64, units=64, group=2),
                      dict(kernel=(2, 2, 2), stride=(1, 1, 1), pca_dim=64, units=32, group=4), grid=grid)
