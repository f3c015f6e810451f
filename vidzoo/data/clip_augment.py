"""The ``vidzoo.data.augment`` ops as steps of a ``ClipTransform``, and the ones ``data.crop`` / ``data.color_jitter``
select.

Each step draws once from the sample's generator (the one the sampler drew from first), so every frame, view and
modality of a sample gets the same crop box or colour factors, and the output is a function of
``(seed, epoch, index)``. A resized crop scales flow displacements by the resize factors, like ``ResizeShortSide``
(x by the width ratio, y by the height ratio); colour jitter changes RGB only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vidzoo.data.augment import ColorJitter, MultiScaleCrop, RandomResizedCrop, resized_crop
from vidzoo.data.transforms import ClipOp, RandomCrop, _each, _frame_size

__all__ = ["CROPS", "BoxCrop", "Jitter", "train_crop"]

#: ``data.crop`` names.
CROPS = ("random", "multiscale", "random_resized")


class BoxCrop(ClipOp):
    """A ``MultiScaleCrop`` or ``RandomResizedCrop`` box drawn once per sample and cut from every modality."""

    def __init__(self, op: MultiScaleCrop | RandomResizedCrop) -> None:
        self.op = op

    def __call__(self, videos, rng, state):
        h, w = _frame_size(videos)
        box = self.op.draw(h, w, rng)

        def one(video: torch.Tensor, key: str) -> torch.Tensor:
            out = resized_crop(video, box)
            if key == "flow":
                scale = torch.tensor([box.size[1] / box.width, box.size[0] / box.height], dtype=out.dtype)
                out = out * scale.view(2, 1, 1)
            return out

        return _each(videos, one)


class Jitter(ClipOp):
    """``ColorJitter`` with one draw per sample, applied to every RGB frame and view alike (flow unchanged)."""

    def __init__(self, op: ColorJitter) -> None:
        self.op = op

    def __call__(self, videos, rng, state):
        params = self.op.draw(rng)
        return _each(videos, lambda v, k: self.op.apply(v, params) if k == "rgb" else v)


def train_crop(kind: str, size: int, *, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66),
               area: Sequence[float] = (0.08, 1.0)) -> ClipOp:
    """The training crop of ``data.crop``: ``random`` (a ``size`` crop at a random position), ``multiscale``
    (TSN's corner crops at ``scales`` of the short side, resized to ``size``) or ``random_resized`` (an
    ``area`` fraction at aspect 3/4..4/3, resized to ``size``)."""
    if kind == "random":
        return RandomCrop(size)
    if kind == "multiscale":
        return BoxCrop(MultiScaleCrop(size, scales))
    if kind == "random_resized":
        return BoxCrop(RandomResizedCrop(size, scale=area))
    raise ValueError(f"unknown crop {kind!r}; choose one of {', '.join(CROPS)}")


def color_jitter(strengths: Sequence[float]) -> ClipOp | None:
    """``Jitter`` for ``data.color_jitter`` = [brightness, contrast, saturation, hue]; ``[]`` or all zeros: None."""
    if not strengths or not any(strengths):
        return None
    return Jitter(ColorJitter(*[float(s) for s in strengths]))
