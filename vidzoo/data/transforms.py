"""Clip transforms: uint8 ``(T, H, W, C)`` frames -> float ``(C, T, H, W)`` model input.

Built on ``torchvision.transforms.v2.functional`` with ``tv_tensors.Video``, so every op treats all frames of
a clip alike. Random decisions (crop position, flip) are drawn from an explicit ``np.random.Generator``
instead of torch's global RNG: one draw per clip, reproducible per sample whatever the number of DataLoader
workers, and identical after a resume.

A horizontal flip can change what a video shows ("move left" becomes "move right"); ``RandomHorizontalFlip``
takes a label permutation (``flip_map_from_pairs``) and returns the swapped label. Without declared pairs it
flips freely and keeps the label. ``RandomTimeReversal`` plays a clip backwards and needs such a permutation
(``reverse_pairs`` of the dataset, e.g. "zoom in" <-> "zoom out"): it is only offered for datasets that declare
one, since reversing most real actions ("sit down") makes a clip of no class at all.

Default normalisation is the Kinetics-400 RGB statistics used by torchvision's video models (values in
[0, 1] after dividing by 255): ``KINETICS_MEAN = (0.43216, 0.394666, 0.37645)``,
``KINETICS_STD = (0.22803, 0.22145, 0.216989)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "CenterCrop",
    "ClipTransform",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomTimeReversal",
    "ResizeShortSide",
    "ThreeCrop",
    "eval_transform",
    "flip_map_from_pairs",
    "normalize_batch",
    "train_transform",
]

KINETICS_MEAN: tuple[float, float, float] = (0.43216, 0.394666, 0.37645)
KINETICS_STD: tuple[float, float, float] = (0.22803, 0.22145, 0.216989)


class ClipOp:
    """One step. Works on a ``tv_tensors.Video`` ``(V, T, C, H, W)`` (V views); ``state`` carries the label."""

    def __call__(self, video: torch.Tensor, rng: np.random.Generator, state: dict) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class ResizeShortSide(ClipOp):
    """Resize so the shorter side is ``size`` px (aspect ratio kept, antialiased)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, video, rng, state):
        if min(video.shape[-2:]) == self.size:
            return video
        return F.resize(video, [self.size], antialias=True)


def _check_fits(video: torch.Tensor, size: int) -> None:
    h, w = video.shape[-2:]
    if h < size or w < size:
        raise ValueError(f"crop size {size} is larger than the frames ({h}x{w}); resize the short side to >= {size}")


class RandomCrop(ClipOp):
    """A ``size`` x ``size`` crop at a random position, the same for all frames and views."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, video, rng, state):
        _check_fits(video, self.size)
        h, w = video.shape[-2:]
        top = int(rng.integers(0, h - self.size + 1))
        left = int(rng.integers(0, w - self.size + 1))
        return F.crop(video, top, left, self.size, self.size)


class CenterCrop(ClipOp):
    """The central ``size`` x ``size`` crop."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, video, rng, state):
        _check_fits(video, self.size)
        return F.center_crop(video, [self.size, self.size])


class ThreeCrop(ClipOp):
    """Three ``size`` x ``size`` crops along the longer side (start, centre, end) for multi-view testing.
    Views multiply: ``(V, ...)`` -> ``(3V, ...)``, clip-major (clip 0 crops 0..2, clip 1 crops 0..2, ...)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, video, rng, state):
        _check_fits(video, self.size)
        h, w = video.shape[-2:]
        s = self.size
        if w >= h:
            boxes = [((h - s) // 2, x) for x in (0, (w - s) // 2, w - s)]
        else:
            boxes = [(y, (w - s) // 2) for y in (0, (h - s) // 2, h - s)]
        crops = torch.stack([F.crop(video, y, x, s, s) for y, x in boxes], dim=1)  # (V, 3, T, C, s, s)
        return tv_tensors.wrap(crops.flatten(0, 1), like=video)


class RandomHorizontalFlip(ClipOp):
    """Mirror left-right with probability ``p``; a flipped label becomes ``flip_map[label]``.

    ``flip_map`` is a permutation of class indices (see ``flip_map_from_pairs``); ``None`` keeps labels.
    """

    def __init__(self, p: float = 0.5, flip_map: Sequence[int] | None = None) -> None:
        self.p = float(p)
        self.flip_map = None if flip_map is None else [int(c) for c in flip_map]

    def __call__(self, video, rng, state):
        if rng.random() >= self.p:
            return video
        state["flipped"] = True
        if self.flip_map is not None and state.get("label") is not None:
            state["label"] = self.flip_map[state["label"]]
        return F.horizontal_flip(video)


class RandomTimeReversal(ClipOp):
    """Play the clip backwards with probability ``p``; a reversed label becomes ``reverse_map[label]``.

    ``reverse_map`` is a permutation of class indices (``flip_map_from_pairs(classes, reverse_pairs)``). On
    datasets whose classes differ only in the direction of a motion, reversed clips are pairs of examples that
    differ only in frame order, so a model cannot reach a low loss without using that order.
    """

    def __init__(self, p: float, reverse_map: Sequence[int]) -> None:
        self.p = float(p)
        self.reverse_map = [int(c) for c in reverse_map]

    def __call__(self, video, rng, state):
        if rng.random() >= self.p:
            return video
        state["reversed"] = True
        if state.get("label") is not None:
            state["label"] = self.reverse_map[state["label"]]
        return tv_tensors.wrap(video.flip(1), like=video)  # (V, T, C, H, W): time is dim 1


class Normalize(ClipOp):
    """uint8 -> float32 in [0, 1], then ``(x - mean) / std`` per channel."""

    def __init__(self, mean: Sequence[float] = KINETICS_MEAN, std: Sequence[float] = KINETICS_STD) -> None:
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]

    def __call__(self, video, rng, state):
        video = F.to_dtype(video, torch.float32, scale=True)
        return F.normalize(video, mean=self.mean, std=self.std)


class ClipTransform:
    """Apply ``ops`` in order to a clip and lay it out for the model.

    Input: uint8 ``(T, H, W, C)`` (one clip) or ``(V, T, H, W, C)`` (V views), numpy or torch.
    Output: ``(C, T, H, W)`` for one clip, else ``(V', C, T, H, W)`` (``V'`` = V times the crops per clip).
    Float when the ops end with ``Normalize``; uint8 if they do not (normalise later, e.g. on the GPU with
    ``normalize_batch``).
    """

    def __init__(self, ops: Iterable[ClipOp]) -> None:
        self.ops = list(ops)

    def __call__(self, clip: np.ndarray | torch.Tensor, rng: np.random.Generator | None = None) -> torch.Tensor:
        return self.apply(clip, rng)[0]

    def apply(
        self, clip: np.ndarray | torch.Tensor, rng: np.random.Generator | None = None, label: int | None = None
    ) -> tuple[torch.Tensor, int | None]:
        """Transform ``clip`` and return it with ``label`` as changed by the ops (flips)."""
        x = torch.from_numpy(np.ascontiguousarray(clip)) if isinstance(clip, np.ndarray) else clip
        single = x.ndim == 4
        if single:
            x = x[None]
        if x.ndim != 5:
            raise ValueError(f"expected a clip (T, H, W, C) or views (V, T, H, W, C), got shape {tuple(x.shape)}")
        video = tv_tensors.Video(x.permute(0, 1, 4, 2, 3))  # (V, T, C, H, W)
        rng = np.random.default_rng() if rng is None else rng
        state: dict = {"label": label}
        for op in self.ops:
            video = op(video, rng, state)
        out = video.as_subclass(torch.Tensor).permute(0, 2, 1, 3, 4).contiguous()  # (V, C, T, H, W)
        if single and out.shape[0] == 1:
            out = out[0]
        return out, state["label"]

    def __repr__(self) -> str:
        return f"ClipTransform({self.ops!r})"


def flip_map_from_pairs(class_names: Sequence[str], pairs: Iterable[tuple[str, str]] | None) -> list[int] | None:
    """Label permutation for a horizontal flip (or a time reversal): each pair's classes swap, others map to
    themselves.

    ``None`` pairs -> ``None`` (flip freely). A pair naming an unknown class is an error.
    """
    if pairs is None:
        return None
    index = {c: i for i, c in enumerate(class_names)}
    perm = list(range(len(class_names)))
    for a, b in pairs:
        for name in (a, b):
            if name not in index:
                raise KeyError(f"class pair ({a!r}, {b!r}) names class {name!r}, which is not among the classes")
        perm[index[a]], perm[index[b]] = index[b], index[a]
    return perm


def train_transform(
    resize: int,
    crop_size: int,
    *,
    flip: bool = True,
    flip_map: Sequence[int] | None = None,
    reverse_map: Sequence[int] | None = None,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
    output_uint8: bool = False,
) -> ClipTransform:
    """Training: resize short side -> random crop -> horizontal flip (swapping labels via ``flip_map``) ->
    time reversal with p=0.5 when ``reverse_map`` is given -> normalise (skipped with ``output_uint8``)."""
    ops: list[ClipOp] = [ResizeShortSide(resize), RandomCrop(crop_size)]
    if flip:
        ops.append(RandomHorizontalFlip(0.5, flip_map))
    if reverse_map is not None:
        ops.append(RandomTimeReversal(0.5, reverse_map))
    if not output_uint8:
        ops.append(Normalize(mean, std))
    return ClipTransform(ops)


def eval_transform(
    resize: int,
    crop_size: int,
    *,
    num_crops: int = 1,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
    output_uint8: bool = False,
) -> ClipTransform:
    """Testing: resize short side -> centre crop (``num_crops=1``) or three crops (``num_crops=3``) -> normalise."""
    if num_crops not in (1, 3):
        raise ValueError(f"num_crops must be 1 (centre) or 3 (three-crop), got {num_crops}")
    ops: list[ClipOp] = [ResizeShortSide(resize), CenterCrop(crop_size) if num_crops == 1 else ThreeCrop(crop_size)]
    if not output_uint8:
        ops.append(Normalize(mean, std))
    return ClipTransform(ops)


def normalize_batch(
    x: torch.Tensor,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
    *,
    channel_dim: int = -4,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 clips -> normalised float, on whatever device ``x`` is (e.g. after a uint8 host->GPU copy).

    ``x`` is ``(..., C, T, H, W)`` (``channel_dim=-4``: works for ``(C,T,H,W)``, ``(B,C,T,H,W)`` and
    ``(B,V,C,T,H,W)``). Returns ``(x / 255 - mean) / std`` in ``dtype``.
    """
    if x.shape[channel_dim] != len(mean) or len(mean) != len(std):
        raise ValueError(f"{len(mean)} mean / {len(std)} std values for {x.shape[channel_dim]} channels")
    shape = [1] * x.ndim
    shape[channel_dim] = len(mean)
    m = torch.tensor(mean, dtype=dtype, device=x.device).view(shape)
    s = torch.tensor(std, dtype=dtype, device=x.device).view(shape)
    return (x.to(dtype) / 255.0 - m) / s
