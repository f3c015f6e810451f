"""Getting a collated batch onto the device in the form the model wants.

A batch's ``inputs`` is a tensor or a dict of tensors (one per modality). Training
batches are ``(B, C, T, H, W)``; evaluation batches may carry a view axis,
``(B, V, C, T, H, W)``, which :func:`flatten_views` folds into the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from vidzoo.data.transforms import normalize_batch

Inputs = Any  # torch.Tensor | dict[str, torch.Tensor]


def map_inputs(inputs: Inputs, fn: Callable[[torch.Tensor], torch.Tensor]) -> Inputs:
    """Apply ``fn`` to a tensor or to every tensor of a dict."""
    if isinstance(inputs, dict):
        return {k: fn(v) for k, v in inputs.items()}
    return fn(inputs)


def first_tensor(inputs: Inputs) -> torch.Tensor:
    return next(iter(inputs.values())) if isinstance(inputs, dict) else inputs


@dataclass
class InputPreparer:
    """Moves inputs to ``device`` (non-blocking from pinned memory), normalises uint8 RGB on the
    device when the loader shipped raw bytes, and applies the channels-last-3d layout."""

    device: torch.device
    mean: Sequence[float] = (0.0, 0.0, 0.0)
    std: Sequence[float] = (1.0, 1.0, 1.0)
    channels_last: bool = False

    def _one(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = normalize_batch(x, self.mean, self.std)
        if self.channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return x

    def __call__(self, inputs: Inputs) -> Inputs:
        return map_inputs(inputs, self._one)


def has_views(inputs: Inputs) -> bool:
    """True when a batch carries a view axis, i.e. ``(B, V, C, T, H, W)``."""
    return first_tensor(inputs).dim() == 6


def flatten_views(inputs: Inputs) -> tuple[Inputs, int, int]:
    """``(B, V, ...)`` -> ``(B*V, ...)``; returns the flattened inputs, B and V."""
    b, v = first_tensor(inputs).shape[:2]
    return map_inputs(inputs, lambda x: x.flatten(0, 1)), b, v
