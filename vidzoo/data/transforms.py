"""Clip transforms: uint8 RGB ``(T, H, W, 3)`` frames and float flow ``(T, H, W, 2)`` fields -> model input.

Built on ``torchvision.transforms.v2.functional`` with ``tv_tensors.Video``, so every op treats all frames of
a clip alike. One sample can carry several modalities (``{"rgb": ..., "flow": ...}``, the two-stream input):
each op draws its random decision once per sample and applies it to every modality, so the RGB and flow
of a sample share one crop box and one flip. Geometry changes flow *values* as well as positions: resizing
scales the x/y displacements by the width/height ratios, and a horizontal flip negates x. Normalisation
applies to RGB only (flow stays in pixel displacements). Random decisions are drawn from an explicit
``np.random.Generator`` instead of torch's global RNG: reproducible per sample whatever the number of
DataLoader workers, and identical after a resume.

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

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "CenterCrop",
    "ClipTransform",
    "FiveCrop",
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

#: The modality keys a transform knows: RGB frames and optical-flow fields (channel 0 = x, 1 = y).
MODALITY_KEYS = ("rgb", "flow")

Videos = dict[str, torch.Tensor]  # modality -> tv_tensors.Video (V, T, C, H, W)


def _each(videos: Videos, fn) -> Videos:
    """``fn(video, key)`` for every modality of a sample, re-wrapped as ``tv_tensors.Video``."""
    return {k: tv_tensors.wrap(fn(v, k), like=v) for k, v in videos.items()}


def _frame_size(videos: Videos) -> tuple[int, int]:
    """The ``(H, W)`` shared by every modality of a sample (one crop box must fit all of them)."""
    sizes = {tuple(v.shape[-2:]) for v in videos.values()}
    if len(sizes) != 1:
        raise ValueError(f"the modalities of a sample have different frame sizes {sorted(sizes)}; extract the flow "
                         f"at the video's resolution (vidzoo-extract-flow without --resize) or resize both alike")
    return sizes.pop()


class ClipOp:
    """One step over a sample's modalities ``{key: tv_tensors.Video (V, T, C, H, W)}``; ``state`` carries the
    label. Random ops draw once per sample, so all modalities see the same decision."""

    def __call__(self, videos: Videos, rng: np.random.Generator, state: dict) -> Videos:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class ResizeShortSide(ClipOp):
    """Resize so the shorter side is ``size`` px (aspect ratio kept, antialiased); flow displacements are
    scaled by the same factors (x by the width ratio, y by the height ratio)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def _one(self, video: torch.Tensor, key: str) -> torch.Tensor:
        h, w = video.shape[-2:]
        if min(h, w) == self.size:
            return video
        out = F.resize(video, [self.size], antialias=True)
        if key == "flow":
            scale = torch.tensor([out.shape[-1] / w, out.shape[-2] / h], dtype=out.dtype).view(2, 1, 1)
            out = out * scale
        return out

    def __call__(self, videos, rng, state):
        return _each(videos, self._one)


def _check_fits(size_hw: tuple[int, int], size: int) -> None:
    h, w = size_hw
    if h < size or w < size:
        raise ValueError(f"crop size {size} is larger than the frames ({h}x{w}); resize the short side to >= {size}")


def _hflip(video: torch.Tensor, key: str) -> torch.Tensor:
    """Mirror left-right; flow x displacements change sign."""
    out = F.horizontal_flip(video)
    if key == "flow":
        out = out * torch.tensor([-1.0, 1.0], dtype=out.dtype).view(2, 1, 1)
    return out


class RandomCrop(ClipOp):
    """A ``size`` x ``size`` crop at a random position, the same for all frames, views and modalities."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, videos, rng, state):
        h, w = _frame_size(videos)
        _check_fits((h, w), self.size)
        top = int(rng.integers(0, h - self.size + 1))
        left = int(rng.integers(0, w - self.size + 1))
        return _each(videos, lambda v, k: F.crop(v, top, left, self.size, self.size))


class CenterCrop(ClipOp):
    """The central ``size`` x ``size`` crop."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, videos, rng, state):
        _check_fits(_frame_size(videos), self.size)
        return _each(videos, lambda v, k: F.center_crop(v, [self.size, self.size]))


def _crops(videos: Videos, boxes: list[tuple[int, int]], size: int, mirror: bool = False) -> Videos:
    """Views multiply: ``(V, ...)`` -> ``(V * len(boxes) [* 2], ...)``, clip-major (clip 0's crops first)."""

    def one(video: torch.Tensor, key: str) -> torch.Tensor:
        crops = [F.crop(video, y, x, size, size) for y, x in boxes]
        if mirror:
            crops += [_hflip(c, key) for c in crops]
        return torch.stack(crops, dim=1).flatten(0, 1)  # (V, n, T, C, s, s) -> (V * n, ...)

    return _each(videos, one)


class ThreeCrop(ClipOp):
    """Three ``size`` x ``size`` crops along the longer side (start, centre, end) for multi-view testing.
    Views multiply: ``(V, ...)`` -> ``(3V, ...)``, clip-major (clip 0 crops 0..2, clip 1 crops 0..2, ...)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, videos, rng, state):
        h, w = _frame_size(videos)
        _check_fits((h, w), self.size)
        s = self.size
        if w >= h:
            boxes = [((h - s) // 2, x) for x in (0, (w - s) // 2, w - s)]
        else:
            boxes = [(y, (w - s) // 2) for y in (0, (h - s) // 2, h - s)]
        return _crops(videos, boxes, s)


class FiveCrop(ClipOp):
    """The four corner crops and the centre crop; with ``mirror`` also their mirror images (ten crops, the
    test views of the two-stream papers). ``(V, ...)`` -> ``(5V, ...)`` or ``(10V, ...)``, clip-major."""

    def __init__(self, size: int, mirror: bool = False) -> None:
        self.size, self.mirror = int(size), bool(mirror)

    def __call__(self, videos, rng, state):
        h, w = _frame_size(videos)
        _check_fits((h, w), self.size)
        s = self.size
        boxes = [(0, 0), (0, w - s), (h - s, 0), (h - s, w - s), ((h - s) // 2, (w - s) // 2)]
        return _crops(videos, boxes, s, self.mirror)


class RandomHorizontalFlip(ClipOp):
    """Mirror left-right with probability ``p`` (flow x negated); a flipped label becomes ``flip_map[label]``.

    ``flip_map`` is a permutation of class indices (see ``flip_map_from_pairs``); ``None`` keeps labels.
    """

    def __init__(self, p: float = 0.5, flip_map: Sequence[int] | None = None) -> None:
        self.p = float(p)
        self.flip_map = None if flip_map is None else [int(c) for c in flip_map]

    def __call__(self, videos, rng, state):
        if rng.random() >= self.p:
            return videos
        state["flipped"] = True
        if self.flip_map is not None and state.get("label") is not None:
            state["label"] = self.flip_map[state["label"]]
        return _each(videos, _hflip)


class RandomTimeReversal(ClipOp):
    """Play the clip backwards with probability ``p``; a reversed label becomes ``reverse_map[label]``.

    ``reverse_map`` is a permutation of class indices (``flip_map_from_pairs(classes, reverse_pairs)``). On
    datasets whose classes differ only in the direction of a motion, reversed clips are pairs of examples that
    differ only in frame order, so a model cannot reach a low loss without using that order. RGB only (a
    reversed flow stack would also need its fields negated).
    """

    def __init__(self, p: float, reverse_map: Sequence[int]) -> None:
        self.p = float(p)
        self.reverse_map = [int(c) for c in reverse_map]

    def __call__(self, videos, rng, state):
        if "flow" in videos:
            raise ValueError("RandomTimeReversal supports RGB clips only")
        if rng.random() >= self.p:
            return videos
        state["reversed"] = True
        if state.get("label") is not None:
            state["label"] = self.reverse_map[state["label"]]
        return _each(videos, lambda v, k: v.flip(1))  # (V, T, C, H, W): time is dim 1


class Normalize(ClipOp):
    """RGB: uint8 -> float32 in [0, 1], then ``(x - mean) / std`` per channel. Flow passes unchanged."""

    def __init__(self, mean: Sequence[float] = KINETICS_MEAN, std: Sequence[float] = KINETICS_STD) -> None:
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]

    def _one(self, video: torch.Tensor, key: str) -> torch.Tensor:
        if key != "rgb":
            return video
        video = F.to_dtype(video, torch.float32, scale=True)
        return F.normalize(video, mean=self.mean, std=self.std)

    def __call__(self, videos, rng, state):
        return _each(videos, self._one)


def _as_video(clip: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(T, H, W, C)`` or ``(V, T, H, W, C)`` -> ``tv_tensors.Video (V, T, C, H, W)`` and whether it was one clip."""
    x = torch.from_numpy(np.ascontiguousarray(clip)) if isinstance(clip, np.ndarray) else clip
    single = x.ndim == 4
    if single:
        x = x[None]
    if x.ndim != 5:
        raise ValueError(f"expected a clip (T, H, W, C) or views (V, T, H, W, C), got shape {tuple(x.shape)}")
    return tv_tensors.Video(x.permute(0, 1, 4, 2, 3)), single


class ClipTransform:
    """Apply ``ops`` in order to a sample and lay it out for the model.

    Input: one clip ``(T, H, W, C)`` or ``V`` views ``(V, T, H, W, C)``, numpy or torch (uint8 RGB), or a
    mapping ``{"rgb": ..., "flow": ...}`` of such arrays (flow: float32 ``C = 2`` displacements in pixels).
    Output: ``(C, T, H, W)`` for one clip, else ``(V', C, T, H, W)`` (``V'`` = V times the crops per clip); a
    mapping in gives a mapping out, key by key. RGB is float when the ops end with ``Normalize``, uint8 if
    they do not (normalise later, e.g. on the GPU with ``normalize_batch``).
    """

    def __init__(self, ops: Iterable[ClipOp]) -> None:
        self.ops = list(ops)

    def __call__(self, clip, rng: np.random.Generator | None = None):
        return self.apply(clip, rng)[0]

    def apply(
        self,
        clip: np.ndarray | torch.Tensor | Mapping[str, np.ndarray | torch.Tensor],
        rng: np.random.Generator | None = None,
        label: int | None = None,
    ) -> tuple[torch.Tensor | dict[str, torch.Tensor], int | None]:
        """Transform ``clip`` and return it with ``label`` as changed by the ops (flips)."""
        many = isinstance(clip, Mapping)
        parts = dict(clip) if many else {"rgb": clip}
        unknown = sorted(set(parts) - set(MODALITY_KEYS))
        if unknown:
            raise ValueError(f"unknown modality {unknown[0]!r}; a sample holds {' and/or '.join(MODALITY_KEYS)}")
        videos, single = {}, True
        for key, value in parts.items():
            videos[key], single = _as_video(value)
        rng = np.random.default_rng() if rng is None else rng
        state: dict = {"label": label}
        for op in self.ops:
            videos = op(videos, rng, state)
        out = {}
        for key, video in videos.items():
            x = video.as_subclass(torch.Tensor).permute(0, 2, 1, 3, 4).contiguous()  # (V, C, T, H, W)
            out[key] = x[0] if single and x.shape[0] == 1 else x
        return (out if many else out["rgb"]), state["label"]

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
    flip: float = 0.5,
    flip_map: Sequence[int] | None = None,
    reverse_map: Sequence[int] | None = None,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
    output_uint8: bool = False,
    crop: ClipOp | None = None,
    jitter: ClipOp | None = None,
) -> ClipTransform:
    """Training: resize short side -> ``crop`` (default a random ``crop_size`` crop) -> horizontal flip with
    probability ``flip`` (0 = none; labels swapped via ``flip_map``) -> ``jitter`` (colour, if
    given) -> time reversal with p=0.5 when ``reverse_map`` is given -> normalise (skipped with ``output_uint8``)."""
    ops: list[ClipOp] = [ResizeShortSide(resize), crop if crop is not None else RandomCrop(crop_size)]
    if flip > 0:
        ops.append(RandomHorizontalFlip(float(flip), flip_map))
    if jitter is not None:
        ops.append(jitter)
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
    """Testing: resize short side -> centre crop (``num_crops=1``), three crops along the long side (3), the
    corners and centre (5) or those and their mirror images (10) -> normalise."""
    crops: dict[int, ClipOp] = {1: CenterCrop(crop_size), 3: ThreeCrop(crop_size), 5: FiveCrop(crop_size),
                                10: FiveCrop(crop_size, mirror=True)}
    if num_crops not in crops:
        raise ValueError(f"num_crops must be 1 (centre), 3 (three-crop), 5 or 10 (corners + centre [+ mirrored]), "
                         f"got {num_crops}")
    ops: list[ClipOp] = [ResizeShortSide(resize), crops[num_crops]]
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
