"""Label blocks: one softmax classifier per dataset, side by side in one output layer (multi-task training).

A model trained with ``data.joint`` (:mod:`vidzoo.data.joint`) has ``K1 + K2 + ...`` outputs: block ``b`` is the
logit range ``[start_b, stop_b)`` of dataset ``b``, the primary dataset first (``start = 0``). As in Simonyan &
Zisserman (2014, Sec. 4), each block is its own softmax layer with its own cross-entropy that only counts the
samples of its dataset; the training loss is the sum of the blocks' summed losses over the batch size (the mean
per-sample loss, each sample scored within its own block). Evaluation scores the primary block only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BlockCrossEntropy", "PrimaryBlock", "block_cross_entropy", "blocks_of", "num_outputs", "primary_block",
           "training_loss"]


def blocks_of(preprocessing: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """The ``(start, stop)`` logit ranges recorded in ``preprocessing["label_blocks"]``; empty without them."""
    return [(int(b["start"]), int(b["stop"])) for b in (preprocessing or {}).get("label_blocks") or []]


def num_outputs(preprocessing: Mapping[str, Any] | None, num_classes: int) -> int:
    """How many logits the model needs: every block's classes, or ``num_classes`` (the primary's) without blocks."""
    blocks = blocks_of(preprocessing)
    return blocks[-1][1] if blocks else int(num_classes)


def block_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, blocks: Sequence[tuple[int, int]],
                        label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of each sample over the logits of its own block only, averaged over the batch.

    ``logits`` ``(B, K)``, ``labels`` ``(B,)`` in the joint label space; a sample with label in ``[start, stop)``
    is scored by a softmax over ``logits[:, start:stop]`` (the other blocks' logits do not enter its loss, nor
    its gradient). ``label_smoothing`` spreads within the block.
    """
    total = logits.new_zeros(())
    counted = 0
    for start, stop in blocks:
        mine = (labels >= start) & (labels < stop)
        if bool(mine.any()):
            total = total + F.cross_entropy(logits[mine, start:stop], labels[mine] - start, reduction="sum",
                                            label_smoothing=label_smoothing)
            counted += int(mine.sum())
    if counted != len(labels):
        raise ValueError(f"{len(labels) - counted} labels lie outside every label block {list(blocks)}")
    return total / max(len(labels), 1)


class BlockCrossEntropy(nn.Module):
    """:func:`block_cross_entropy` as a loss module (the drop-in for ``nn.CrossEntropyLoss``)."""

    def __init__(self, blocks: Sequence[tuple[int, int]], label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.blocks = [(int(a), int(b)) for a, b in blocks]
        self.label_smoothing = float(label_smoothing)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return block_cross_entropy(logits, labels, self.blocks, self.label_smoothing)

    def extra_repr(self) -> str:
        return f"blocks={self.blocks}, label_smoothing={self.label_smoothing}"


def training_loss(label_smoothing: float, preprocessing: Mapping[str, Any] | None) -> nn.Module:
    """The trainer's classification loss: plain cross-entropy, or one per label block when the data has blocks."""
    blocks = blocks_of(preprocessing)
    if blocks:
        return BlockCrossEntropy(blocks, label_smoothing)
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing)


class PrimaryBlock(nn.Module):
    """``model`` with its logits cut to the first ``num_classes`` (the primary dataset's block): ``(B, K1)``."""

    def __init__(self, model: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.model = model
        self.num_classes = int(num_classes)

    def forward(self, inputs: Any) -> torch.Tensor:
        return self.model(inputs)[..., : self.num_classes]


def primary_block(model: nn.Module, preprocessing: Mapping[str, Any] | None) -> nn.Module:
    """``model`` scoring only the primary dataset's classes: wrapped in :class:`PrimaryBlock` when the checkpoint
    has label blocks, ``model`` itself otherwise."""
    blocks = blocks_of(preprocessing)
    return PrimaryBlock(model, blocks[0][1]) if blocks else model
