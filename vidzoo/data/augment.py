"""Clip-consistent augmentations of peers' recipes: TSN multi-scale crop, random resized crop, colour jitter, and
batch-level mixup / cutmix with label smoothing.

Every op is split in two pure steps: ``draw(...)`` takes the explicit random generator of one sample and returns
plain parameters; applying them is deterministic. One draw therefore serves every frame of a clip and every
stream of a sample (RGB and its flow stack), and a sample's output is a function of its generator, which the
datasets seed from ``(seed, epoch, index)`` (``np.random.default_rng([seed, epoch, index])``), so augmentation
is the same whatever the number of workers and after an exact resume. Generators may be ``np.random.Generator``
or ``torch.Generator``.

Tensors: spatial ops take any ``(..., H, W)`` tensor, uint8 or float: ``(T, C, H, W)``, ``(C, T, H, W)``, a
``tv_tensors.Video``, or a flow stack ``(2, T*L, H, W)``. A flow stack gets the same box as its RGB clip and
its values are not rescaled (TSN and the two-stream papers crop and resize flow fields as images). Colour jitter
changes RGB only (float input in [0, 1], or uint8). Horizontal flips (flow x negated, labels through flip pairs)
are the data pipeline's own op.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, Union

import numpy as np
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

__all__ = [
    "TSN_SCALES",
    "ColorJitter",
    "CropBox",
    "JitterParams",
    "MultiScaleCrop",
    "RandomResizedCrop",
    "mix_batch",
    "resized_crop",
    "smooth_one_hot",
]

Rng = Union[np.random.Generator, torch.Generator]

#: TSN's crop scales, as fractions of the frame's short side (Wang et al. 2016, ``GroupMultiScaleCrop``).
TSN_SCALES: tuple[float, ...] = (1.0, 0.875, 0.75, 0.66)


def _uniform(rng: Rng, low: float, high: float) -> float:
    if isinstance(rng, torch.Generator):
        return low + (high - low) * float(torch.rand((), generator=rng, dtype=torch.float64))
    return float(rng.uniform(low, high))


def _integer(rng: Rng, n: int) -> int:
    """A uniform integer in ``[0, n)``."""
    if isinstance(rng, torch.Generator):
        return int(torch.randint(n, (), generator=rng))
    return int(rng.integers(0, n))


def _beta(rng: Rng, alpha: float) -> float:
    """``Beta(alpha, alpha)``; a torch generator seeds a numpy one (torch's Beta takes no generator)."""
    if isinstance(rng, torch.Generator):
        rng = np.random.default_rng(int(torch.randint(2**62, (), generator=rng)))
    return float(rng.beta(alpha, alpha))


class CropBox(NamedTuple):
    """A crop of the input (top, left, height, width), resized to ``size`` ``(H, W)``."""

    top: int
    left: int
    height: int
    width: int
    size: tuple[int, int]


def resized_crop(x: torch.Tensor, box: CropBox) -> torch.Tensor:
    """Cut ``box`` out of every frame of ``x`` ``(..., H, W)`` and resize it to ``box.size`` (bilinear,
    antialiased); uint8 stays uint8."""
    return F.resized_crop(x, box.top, box.left, box.height, box.width, list(box.size),
                          interpolation=InterpolationMode.BILINEAR, antialias=True)


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _same_frame_size(rgb: torch.Tensor, flow: torch.Tensor | None) -> None:
    if flow is not None and tuple(flow.shape[-2:]) != tuple(rgb.shape[-2:]):
        raise ValueError(f"flow frames {tuple(flow.shape[-2:])} and RGB frames {tuple(rgb.shape[-2:])} differ in size; "
                         "one crop box cannot fit both")


class _SpatialCrop:
    """Shared call: one box drawn for the RGB frame size, applied to the RGB clip and to its flow stack."""

    def draw(self, height: int, width: int, rng: Rng) -> CropBox:
        raise NotImplementedError

    def __call__(self, rgb: torch.Tensor, flow: torch.Tensor | None = None, *,
                 rng: Rng) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``rgb`` ``(..., H, W)`` and optional ``flow`` ``(..., H, W)`` -> both cropped by one draw from ``rng``."""
        _same_frame_size(rgb, flow)
        box = self.draw(rgb.shape[-2], rgb.shape[-1], rng)
        return resized_crop(rgb, box), None if flow is None else resized_crop(flow, box)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class MultiScaleCrop(_SpatialCrop):
    """TSN's multi-scale corner crop (``GroupMultiScaleCrop`` of Wang et al. 2016).

    Crop sides are ``scales`` x the short side, a side within 3 px of the output size snaps to it; height and
    width scales are drawn as a pair at most ``max_distort`` steps apart (aspect jitter); the crop sits at one of 5
    fixed positions (4 corners + centre; ``more_fix_crop`` adds the 8 more of TSN's PyTorch code, where it is on by
    default: edge centres and quarter points);
    then it is resized to ``size`` (an int for square output, or ``(H, W)``).
    """

    def __init__(self, size: int | Sequence[int], scales: Sequence[float] = TSN_SCALES, max_distort: int = 1,
                 more_fix_crop: bool = False) -> None:
        self.size = _pair(size)
        self.scales = tuple(float(s) for s in scales)
        self.max_distort = int(max_distort)
        self.more_fix_crop = bool(more_fix_crop)
        if not self.scales or any(not 0 < s <= 1 for s in self.scales):
            raise ValueError(f"MultiScaleCrop scales must be in (0, 1], got {self.scales}")

    def positions(self, height: int, width: int, crop_h: int, crop_w: int) -> list[tuple[int, int]]:
        """The fixed (top, left) offsets of a ``crop_h`` x ``crop_w`` crop, in TSN's order."""
        h_step, w_step = (height - crop_h) // 4, (width - crop_w) // 4
        steps = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]  # (row, column) quarters: corners, then centre
        if self.more_fix_crop:
            steps += [(2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3)]
        return [(r * h_step, c * w_step) for r, c in steps]

    def draw(self, height: int, width: int, rng: Rng) -> CropBox:
        """One crop box for ``height`` x ``width`` frames."""
        base = min(height, width)
        sides = [int(base * s) for s in self.scales]
        crop_h = [self.size[0] if abs(s - self.size[0]) < 3 else s for s in sides]
        crop_w = [self.size[1] if abs(s - self.size[1]) < 3 else s for s in sides]
        pairs = [(h, w) for i, h in enumerate(crop_h) for j, w in enumerate(crop_w) if abs(i - j) <= self.max_distort]
        h, w = pairs[_integer(rng, len(pairs))]
        h, w = min(h, height), min(w, width)
        offsets = self.positions(height, width, h, w)
        top, left = offsets[_integer(rng, len(offsets))]
        return CropBox(top, left, h, w, self.size)


class RandomResizedCrop(_SpatialCrop):
    """torchvision's ``RandomResizedCrop`` (the Inception crop: area fraction in ``scale``, aspect ratio
    log-uniform in ``ratio``, 10 tries, then a centre crop), drawn once per clip from an explicit generator."""

    def __init__(self, size: int | Sequence[int], scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3)) -> None:
        self.size = _pair(size)
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        if not 0 < self.scale[0] <= self.scale[1] <= 1 or not 0 < self.ratio[0] <= self.ratio[1]:
            raise ValueError(f"RandomResizedCrop needs 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], "
                             f"got scale={self.scale}, ratio={self.ratio}")

    def draw(self, height: int, width: int, rng: Rng) -> CropBox:
        """One crop box for ``height`` x ``width`` frames (``torchvision.transforms.RandomResizedCrop.get_params``)."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * _uniform(rng, *self.scale)
            aspect = math.exp(_uniform(rng, *log_ratio))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return CropBox(_integer(rng, height - h + 1), _integer(rng, width - w + 1), h, w, self.size)
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            w, h = int(round(height * self.ratio[1])), height
        else:
            w, h = width, height
        return CropBox((height - h) // 2, (width - w) // 2, h, w, self.size)


class JitterParams(NamedTuple):
    """One colour jitter draw: the order of the 4 adjustments (0 brightness, 1 contrast, 2 saturation, 3 hue)
    and their factors (``None``: that adjustment is off)."""

    order: tuple[int, ...]
    brightness: float | None
    contrast: float | None
    saturation: float | None
    hue: float | None


class ColorJitter:
    """torchvision's ``ColorJitter`` with one draw per clip: factors uniform in ``[max(0, 1 - b), 1 + b]``
    (``hue`` in ``[-hue, hue]``, at most 0.5), applied in a random order to every frame alike. RGB only: a flow
    stack passes through unchanged."""

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0,
                 hue: float = 0.0) -> None:
        if min(brightness, contrast, saturation, hue) < 0 or hue > 0.5:
            raise ValueError(f"ColorJitter strengths must be >= 0 (hue <= 0.5), got brightness={brightness}, "
                             f"contrast={contrast}, saturation={saturation}, hue={hue}")
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)

    def draw(self, rng: Rng) -> JitterParams:
        order = list(range(4))
        for i in range(3, 0, -1):  # Fisher-Yates with the sample's generator
            j = _integer(rng, i + 1)
            order[i], order[j] = order[j], order[i]

        def factor(strength: float, centre: float) -> float | None:
            return None if strength == 0 else _uniform(rng, max(0.0, centre - strength), centre + strength)

        return JitterParams(tuple(order), factor(self.brightness, 1.0), factor(self.contrast, 1.0),
                            factor(self.saturation, 1.0), factor(self.hue, 0.0))

    @staticmethod
    def apply(rgb: torch.Tensor, params: JitterParams, channel_dim: int = -3) -> torch.Tensor:
        """Adjust ``rgb`` (3 channels at ``channel_dim``: -3 for ``(T, C, H, W)``, -4 for ``(C, T, H, W)``)."""
        if rgb.shape[channel_dim] != 3:
            raise ValueError(f"ColorJitter needs 3 RGB channels at dim {channel_dim}, got shape {tuple(rgb.shape)}")
        x = rgb.movedim(channel_dim, -3)
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        values = (params.brightness, params.contrast, params.saturation, params.hue)
        for k in params.order:
            if values[k] is not None:
                x = ops[k](x, values[k])
        return x.movedim(-3, channel_dim)

    def __call__(self, rgb: torch.Tensor, flow: torch.Tensor | None = None, *, rng: Rng,
                 channel_dim: int = -3) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``rgb`` jittered by one draw from ``rng``; ``flow`` returned as it is."""
        return self.apply(rgb, self.draw(rng), channel_dim), flow

    def __repr__(self) -> str:
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
                f"hue={self.hue})")


def smooth_one_hot(targets: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """int64 ``(B,)`` -> float ``(B, K)``: ``1 - smoothing + smoothing / K`` on the target, ``smoothing / K``
    elsewhere (timm's ``one_hot`` with smoothing, the same mass as ``CrossEntropyLoss(label_smoothing)``)."""
    off = smoothing / num_classes
    out = torch.full((targets.shape[0], num_classes), off, dtype=torch.float32, device=targets.device)
    return out.scatter_(1, targets.long().view(-1, 1), 1.0 - smoothing + off)


Clips = Union[torch.Tensor, dict]


def mix_batch(clips: Clips, targets: torch.Tensor, num_classes: int, rng: Rng, *, mixup_alpha: float = 0.8,
              cutmix_alpha: float = 1.0, switch_prob: float = 0.5, prob: float = 1.0,
              label_smoothing: float = 0.1) -> tuple[Clips, torch.Tensor]:
    """Batch mixup / cutmix (timm's ``Mixup``, ``mode="batch"``): clip ``b`` is mixed with clip ``B - 1 - b``.

    ``clips``: ``(B, C, T, H, W)`` float, or a dict of them (``{"rgb", "flow"}``: one draw mixes both alike).
    With probability ``prob`` the batch is mixed: cutmix (``Beta(cutmix_alpha)``; with probability ``switch_prob``
    when both alphas are > 0) pastes one box, the same on every frame, from the partner clip, and ``lam`` becomes
    the kept area; mixup blends whole clips with ``lam ~ Beta(mixup_alpha)``. Returns the mixed clips and soft
    targets ``(B, K)``: ``lam * smooth(y) + (1 - lam) * smooth(y[::-1])``, each row summing to 1. Feed them to
    ``nn.CrossEntropyLoss()`` (probability targets; without its own ``label_smoothing``).
    """
    if mixup_alpha < 0 or cutmix_alpha < 0 or not 0 <= prob <= 1 or not 0 <= switch_prob <= 1:
        raise ValueError(f"mix_batch needs alphas >= 0 and probabilities in [0, 1], got mixup_alpha={mixup_alpha}, "
                         f"cutmix_alpha={cutmix_alpha}, prob={prob}, switch_prob={switch_prob}")
    soft = smooth_one_hot(targets, num_classes, label_smoothing)
    lam, box = 1.0, None
    if (mixup_alpha > 0 or cutmix_alpha > 0) and _uniform(rng, 0.0, 1.0) < prob:
        use_cutmix = cutmix_alpha > 0 and (mixup_alpha == 0 or _uniform(rng, 0.0, 1.0) < switch_prob)
        lam = _beta(rng, cutmix_alpha if use_cutmix else mixup_alpha)
        if use_cutmix:
            first = next(iter(clips.values())) if isinstance(clips, dict) else clips
            box, lam = _cutmix_box(first.shape[-2], first.shape[-1], lam, rng)
    if lam == 1.0 and box is None:
        return clips, soft

    def mix(x: torch.Tensor) -> torch.Tensor:
        partner = x.flip(0)
        if box is None:
            return x * lam + partner * (1.0 - lam)
        y0, y1, x0, x1 = box
        out = x.clone()
        out[..., y0:y1, x0:x1] = partner[..., y0:y1, x0:x1]
        return out

    mixed = {k: mix(v) for k, v in clips.items()} if isinstance(clips, dict) else mix(clips)
    return mixed, soft * lam + soft.flip(0) * (1.0 - lam)


def _cutmix_box(height: int, width: int, lam: float, rng: Rng) -> tuple[tuple[int, int, int, int], float]:
    """timm's ``rand_bbox``: a box of area ``(1 - lam) * H * W`` centred uniformly (clipped at the borders);
    returns ``(y0, y1, x0, x1)`` and ``lam`` corrected to the kept area."""
    cut = math.sqrt(1.0 - lam)
    ch, cw = int(height * cut), int(width * cut)
    cy, cx = _integer(rng, height), _integer(rng, width)
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, height)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, width)
    return (y0, y1, x0, x1), 1.0 - (y1 - y0) * (x1 - x0) / float(height * width)
