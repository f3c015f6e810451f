"""Batch mixup / cutmix in the training step (``trainer.mixup_alpha``, ``cutmix_alpha``, ``mix_prob``,
``mix_switch_prob``), with the label smoothing folded into the soft targets.

The mixing draw of a batch comes from ``np.random.default_rng([seed, epoch, batch, rank])``: a function of where
the batch is in training, not of what ran before, so an exact resume (which restarts at an epoch boundary) mixes
the same batches the same way, and each rank of a distributed run draws its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vidzoo.data.augment import mix_batch

__all__ = ["BatchMixer"]


class BatchMixer:
    """Mixes a prepared batch and gives its loss targets: soft ``(B, K)`` targets when mixing is on (smoothing
    inside them, so the loss must take none of its own: see ``loss_smoothing``), else the hard labels.
    """

    def __init__(self, *, mixup_alpha: float, cutmix_alpha: float, prob: float, switch_prob: float,
                 label_smoothing: float, seed: int, rank: int = 0) -> None:
        self.mixup_alpha, self.cutmix_alpha = float(mixup_alpha), float(cutmix_alpha)
        self.prob, self.switch_prob = float(prob), float(switch_prob)
        self.label_smoothing = float(label_smoothing)
        self.seed, self.rank = int(seed), int(rank)
        self.enabled = self.mixup_alpha > 0 or self.cutmix_alpha > 0
        # soft targets already hold the smoothing; hard ones get it from the loss
        self.loss_smoothing = 0.0 if self.enabled else self.label_smoothing

    @classmethod
    def from_config(cls, t: Any, rank: int = 0) -> "BatchMixer":
        """From a ``TrainerConfig`` (keys absent from an older config: mixing off)."""
        return cls(mixup_alpha=getattr(t, "mixup_alpha", 0.0), cutmix_alpha=getattr(t, "cutmix_alpha", 0.0),
                   prob=getattr(t, "mix_prob", 1.0), switch_prob=getattr(t, "mix_switch_prob", 0.5),
                   label_smoothing=t.label_smoothing, seed=t.seed, rank=rank)

    def __call__(self, inputs: Any, labels: torch.Tensor, num_classes: int, epoch: int,
                 batch: int) -> tuple[Any, torch.Tensor]:
        """``(inputs, targets)``: mixed inputs (``(B, C, T, H, W)`` or a dict of them) and soft targets, or the
        inputs and hard ``labels`` unchanged when mixing is off."""
        if not self.enabled:
            return inputs, labels
        rng = np.random.default_rng([self.seed, int(epoch), int(batch), self.rank])
        return mix_batch(inputs, labels, num_classes, rng, mixup_alpha=self.mixup_alpha,
                         cutmix_alpha=self.cutmix_alpha, switch_prob=self.switch_prob, prob=self.prob,
                         label_smoothing=self.label_smoothing)
