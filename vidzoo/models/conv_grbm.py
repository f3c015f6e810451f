"""Convolutional gated RBM (Taylor, Fergus, LeCun & Bregler 2010, ECCV, "Convolutional Learning of
Spatio-temporal Features"): unsupervised motion features from pairs of adjacent frames, then a classifier.

The convGRBM models frame ``y`` given the previous frame ``x``. Factors multiply a filter response of ``x``
with one of ``y``; hidden feature maps pool the factors (1x1 across factors); probabilistic max pooling lets at
most one hidden unit of each ``pool x pool`` block be on::

    I_k = sum_f Wz[k, f] * ((Wx_f * x) . (Wy_f * y)) + c_k            (* = convolution, . = product)
    P(block: unit j on) = exp(I_j) / (1 + sum_{i in block} exp(I_i)),  P(pool unit on) = 1 - P(all off)
    E[y | x, h] = b + sum_f Wy_f (*)^T ((Wx_f * x) . sum_k Wz[k, f] h_k)  (Gaussian visible units, unit variance)

Training is contrastive divergence (CD-1). CD is not the gradient of a loss, but it is the gradient of a
surrogate: ``F(y_data | x) - F(y_neg | x)`` with the negative sample held constant, where ``F`` is the free
energy (hidden units summed out, closed form under probabilistic max pooling). :meth:`ConvGRBM.pretrain_loss`
returns that surrogate, so the shared pre-training loop (``trainer.pretrain_epochs``) applies exact CD updates
with its optimiser. A small sparsity penalty pulls the mean pool-unit activity to ``sparsity_target``.

Features: the pool-unit probabilities of every adjacent pair form maps ``(B, K, T - 1, H', W')``. The convGRBM
is frozen after pre-training (as in the paper); the supervised part is a 3D conv net over those maps
(``head_convs``; the full-size model) or, with no head convolutions, a standardised linear classifier on the
maps averaged over time and a ``grid x grid`` spatial split (the CPU variant).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidzoo.models._input_checks import check_clip
from vidzoo.models._pretrain import LinearHead, freeze, grid_features, to_gray
from vidzoo.models.registry import register_model

_PAPER = "Taylor, Fergus, LeCun & Bregler 2010, ECCV"


def _standardize(frames: Tensor) -> Tensor:
    """Zero mean, unit variance per frame (the Gaussian visible units assume unit variance)."""
    mean = frames.mean(dim=(-2, -1), keepdim=True)
    std = frames.std(dim=(-2, -1), keepdim=True).clamp_min(1e-3)
    return (frames - mean) / std


class ConvGRBM(nn.Module):
    """The convolutional gated RBM on frame pairs ``x, y`` of shape ``(N, 1, H, W)``.

    Args:
        factors: number of factors F (filter pairs ``Wx_f``, ``Wy_f``).
        hidden: number of hidden feature maps K.
        kernel: filter size (square).
        pool: probabilistic max-pooling block size.
    """

    def __init__(self, factors: int, hidden: int, kernel: int, pool: int) -> None:
        super().__init__()
        self.pool = pool
        self.wx = nn.Parameter(torch.randn(factors, 1, kernel, kernel) * 0.05)
        self.wy = nn.Parameter(torch.randn(factors, 1, kernel, kernel) * 0.05)
        self.wz = nn.Parameter(torch.randn(hidden, factors) * 0.05)
        self.hbias = nn.Parameter(torch.full((hidden,), -1.0))
        self.vbias = nn.Parameter(torch.zeros(1))

    def hidden_input(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(I, Wx * x)``: hidden inputs ``(N, K, H', W')`` and the x filter responses ``(N, F, H', W')``."""
        fx = F.conv2d(x, self.wx)
        fy = F.conv2d(y, self.wy)
        return torch.einsum("kf,nfhw->nkhw", self.wz, fx * fy) + self.hbias[:, None, None], fx

    def _blocks(self, inputs: Tensor) -> Tensor:
        """``(N, K, H', W') -> (N, K, H'/p, W'/p, p * p)`` (a border smaller than a block is dropped)."""
        n, k, h, w = inputs.shape
        p = self.pool
        inputs = inputs[:, :, : h - h % p, : w - w % p]
        blocks = inputs.reshape(n, k, h // p, p, w // p, p).permute(0, 1, 2, 4, 3, 5)
        return blocks.reshape(n, k, h // p, w // p, p * p)

    def _unblock(self, blocks: Tensor, shape: torch.Size) -> Tensor:
        """Inverse of :meth:`_blocks`; the dropped border comes back as zeros."""
        n, k, h, w = shape
        p = self.pool
        hp, wp = h // p, w // p
        out = blocks.reshape(n, k, hp, wp, p, p).permute(0, 1, 2, 4, 3, 5).reshape(n, k, hp * p, wp * p)
        return F.pad(out, (0, w - wp * p, 0, h - hp * p))

    def block_logits(self, inputs: Tensor) -> Tensor:
        """Logits of each block's ``p * p + 1`` states (one unit on, or all off = logit 0), ``(..., p*p + 1)``."""
        blocks = self._blocks(inputs)
        return torch.cat([blocks, blocks.new_zeros(blocks.shape[:-1] + (1,))], dim=-1)

    def pool_probs(self, x: Tensor, y: Tensor) -> Tensor:
        """``P(pool unit on | x, y)``, ``(N, K, H'/p, W'/p)``: the features."""
        inputs, _ = self.hidden_input(x, y)
        return 1.0 - self.block_logits(inputs).softmax(dim=-1)[..., -1]

    def sample_hidden(self, inputs: Tensor) -> Tensor:
        """One sample of the hidden maps ``(N, K, H', W')`` (at most one unit on per block)."""
        logits = self.block_logits(inputs)
        states = torch.distributions.Categorical(logits=logits).sample()
        onehot = F.one_hot(states, logits.shape[-1]).to(inputs.dtype)[..., :-1]
        return self._unblock(onehot, inputs.shape)

    def reconstruct(self, fx: Tensor, hidden: Tensor) -> Tensor:
        """``E[y | x, h]``, ``(N, 1, H, W)``, from the x responses ``fx`` and hidden maps ``h``."""
        gate = torch.einsum("kf,nkhw->nfhw", self.wz, hidden)
        return F.conv_transpose2d(fx * gate, self.wy) + self.vbias

    def free_energy(self, x: Tensor, y: Tensor, inputs: Tensor | None = None) -> Tensor:
        """``F(y | x)`` per pair, ``(N,)``: ``0.5 ||y - b||^2 - sum_blocks log(1 + sum_block exp(I))``
        (``inputs``: the hidden inputs of ``(x, y)`` when already computed)."""
        if inputs is None:
            inputs, _ = self.hidden_input(x, y)
        visible = 0.5 * (y - self.vbias).pow(2).flatten(1).sum(1)
        return visible - torch.logsumexp(self.block_logits(inputs), dim=-1).flatten(1).sum(1)

    def cd_surrogate(self, x: Tensor, y: Tensor, sparsity_target: float, sparsity_weight: float
                     ) -> tuple[Tensor, dict[str, float]]:
        """CD-1 surrogate loss (mean over pairs, per pixel) and the reconstruction error of the negative phase."""
        inputs, fx = self.hidden_input(x, y)
        with torch.no_grad():
            y_neg = self.reconstruct(fx, self.sample_hidden(inputs))
        pixels = y[0].numel()
        loss = (self.free_energy(x, y, inputs) - self.free_energy(x, y_neg)).mean() / pixels
        activity = (1.0 - self.block_logits(inputs).softmax(dim=-1)[..., -1]).mean()
        loss = loss + sparsity_weight * (activity - sparsity_target) ** 2
        recon = float((y - y_neg).pow(2).mean())
        return loss, {"recon_error": recon, "pool_activity": float(activity.detach())}


class ConvGRBMClassifier(nn.Module):
    """convGRBM features of every adjacent frame pair, then a supervised head.

    Shapes: ``(B, C, T, H, W) -> grey (B, 1, T, H, W) -> pairs (B * (T-1), 1, H, W) -> pool maps
    (B, K, T-1, H', W') -> [3D conv net] -> (B, num_classes)``.
    """

    def __init__(self, num_classes: int, factors: int, hidden: int, kernel: int, pool: int,
                 head_convs: Sequence[tuple[int, Sequence[int]]] = (), grid: int = 3, in_channels: int = 3,
                 sparsity_target: float = 0.1, sparsity_weight: float = 0.1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.grbm = ConvGRBM(factors, hidden, kernel, pool)
        self.sparsity_target, self.sparsity_weight = sparsity_target, sparsity_weight
        convs: list[nn.Module] = []
        channels = hidden
        for out_channels, k in head_convs:
            convs += [nn.Conv3d(channels, out_channels, tuple(k)), nn.ReLU(inplace=True),
                      nn.MaxPool3d((1, 2, 2), ceil_mode=True)]
            channels = out_channels
        self.convs = nn.Sequential(*convs)
        self.grid = grid if not head_convs else 1
        self.head = LinearHead(channels * self.grid * self.grid, num_classes)
        freeze(self.pretrain_parameters())

    def _pairs(self, clips: Tensor) -> tuple[Tensor, Tensor]:
        check_clip(clips, self.in_channels, "ConvGRBMClassifier", min_frames=2)
        frames = _standardize(to_gray(clips)).transpose(1, 2)  # (B, T, 1, H, W)
        x = frames[:, :-1].flatten(0, 1)
        y = frames[:, 1:].flatten(0, 1)
        return x, y

    def features(self, clips: Tensor) -> Tensor:
        """Pool-unit probabilities of every adjacent pair, ``(B, K, T - 1, H', W')``."""
        b, t = clips.shape[0], clips.shape[2]
        maps = self.grbm.pool_probs(*self._pairs(clips))
        return maps.view(b, t - 1, *maps.shape[1:]).transpose(1, 2)

    def forward(self, clips: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, num_classes)``."""
        return self.head(grid_features(self.convs(self.features(clips)), self.grid))

    # ---------------------------------------------------------------- pre-training protocol (models/_pretrain.py)
    def pretrain_parameters(self) -> list[nn.Parameter]:
        return list(self.grbm.parameters())

    def pretrain_loss(self, clips: Tensor, progress: float) -> tuple[Tensor, dict[str, float]]:
        """CD-1 on every adjacent frame pair of ``clips`` (see the module docstring)."""
        return self.grbm.cd_surrogate(*self._pairs(clips), self.sparsity_target, self.sparsity_weight)

    def after_pretrain_step(self) -> None:
        """Nothing to project: the convGRBM is unconstrained."""


@register_model("conv_grbm", input_shape=(3, 16, 112, 112), family="Conv gated RBM", paper=_PAPER)
def conv_grbm(num_classes: int = 6, factors: int = 32, hidden: int = 32, kernel: int = 16,
              pool: int = 4) -> ConvGRBMClassifier:
    """Full size (KTH-style, 6 classes): a convGRBM with 32 factors, 32 hidden maps, 16x16 filters and 4x4
    probabilistic max pooling, then a 3D conv net (64 maps 3x7x7, 128 maps 3x5x5, max pooling) and a linear
    classifier."""
    return ConvGRBMClassifier(num_classes, factors, hidden, kernel, pool,
                              head_convs=((64, (3, 7, 7)), (128, (3, 5, 5))))


@register_model("conv_grbm_small", input_shape=(3, 8, 56, 56), family="Conv gated RBM", paper=_PAPER)
def conv_grbm_small(num_classes: int = 9, factors: int = 16, hidden: int = 32, kernel: int = 9, pool: int = 2,
                    grid: int = 3) -> ConvGRBMClassifier:
    """CPU size: 16 factors, 32 hidden maps, 9x9 filters, 2x2 pooling; a linear classifier on the pool maps
    averaged over time and a ``grid x grid`` spatial split."""
    return ConvGRBMClassifier(num_classes, factors, hidden, kernel, pool, grid=grid)
