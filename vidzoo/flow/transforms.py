"""Geometric transforms for flow stacks, applied identically to x/y fields and to the paired RGB frames.

Flow is float32 ``(L, H, W, 2)`` pixel displacements (channel 0 = x, 1 = y), RGB is uint8
``(T, H, W, 3)``. A transform is described once by a :class:`View` (resize, crop box, flip)
and applied to every array of a sample, so the temporal and spatial streams see the same
pixels. Geometry changes the flow *values* too: resizing by ``s`` scales displacements by
``s``, and a horizontal flip mirrors the field and negates its x component.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class View:
    """One spatial view: crop box ``(top, left, height, width)`` in the resized frame, then an optional flip."""

    top: int
    left: int
    height: int
    width: int
    flip: bool = False


def resized_size(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """``(H, W)`` after resizing so the shorter side is ``short_side`` (None keeps the size)."""
    if not short_side:
        return height, width
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(L, H, W, 2)`` flow to ``size = (H', W')``, scaling x by ``W'/W`` and y by ``H'/H``."""
    l, h, w, _ = flow.shape
    if (h, w) == tuple(size):
        return flow
    out = np.empty((l, size[0], size[1], 2), np.float32)
    for i in range(l):
        out[i] = cv2.resize(flow[i], (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= size[1] / w
    out[..., 1] *= size[0] / h
    return out


def resize_rgb(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 ``(T, H, W, 3)`` frames to ``size = (H', W')`` (bilinear)."""
    t, h, w, _ = frames.shape
    if (h, w) == tuple(size):
        return frames
    return np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_LINEAR) for f in frames])


def hflip_flow(flow: np.ndarray) -> np.ndarray:
    """Mirror ``(..., H, W, 2)`` flow left-right: the field is flipped and x displacements change sign."""
    out = flow[..., ::-1, :].copy()
    out[..., 0] *= -1.0
    return out


def subtract_mean_flow(flow: np.ndarray) -> np.ndarray:
    """Subtract each field's mean displacement vector (Simonyan & Zisserman 2014, a cheap camera-motion compensation)."""
    return flow - flow.mean(axis=(-3, -2), keepdims=True, dtype=np.float64).astype(np.float32)


def apply_view(array: np.ndarray, view: View, is_flow: bool) -> np.ndarray:
    """Crop ``(N, H, W, C)`` to ``view`` and flip it (negating x when ``is_flow``)."""
    h, w = array.shape[1:3]
    if view.top < 0 or view.left < 0 or view.top + view.height > h or view.left + view.width > w:
        raise ValueError(f"crop {view} does not fit a {h}x{w} frame; lower crop_size or raise resize")
    out = array[:, view.top : view.top + view.height, view.left : view.left + view.width]
    if view.flip:
        return hflip_flow(out) if is_flow else out[:, :, ::-1].copy()
    return np.ascontiguousarray(out)


def random_view(height: int, width: int, crop: int, rng: np.random.Generator, flip: bool = True) -> View:
    """A random ``crop x crop`` box in an ``height x width`` frame, flipped with probability 0.5 when ``flip``."""
    if crop > min(height, width):
        raise ValueError(f"crop_size {crop} exceeds the {height}x{width} frame; lower crop_size or raise resize")
    top = int(rng.integers(0, height - crop + 1))
    left = int(rng.integers(0, width - crop + 1))
    return View(top, left, crop, crop, bool(flip and rng.random() < 0.5))


def eval_views(height: int, width: int, crop: int, num_crops: int) -> list[View]:
    """Deterministic evaluation views: 1 (centre), 3 (both ends and centre along the long side),
    5 (four corners + centre) or 10 (those five and their mirror images, as in Simonyan & Zisserman)."""
    if crop > min(height, width):
        raise ValueError(f"crop_size {crop} exceeds the {height}x{width} frame; lower crop_size or raise resize")
    cy, cx = (height - crop) // 2, (width - crop) // 2
    if num_crops == 1:
        boxes = [(cy, cx)]
    elif num_crops == 3:
        boxes = [(0, cx), (cy, cx), (height - crop, cx)] if height > width else [(cy, 0), (cy, cx), (cy, width - crop)]
    elif num_crops in (5, 10):
        boxes = [(0, 0), (0, width - crop), (height - crop, 0), (height - crop, width - crop), (cy, cx)]
    else:
        raise ValueError(f"test_crops must be 1, 3, 5 or 10, got {num_crops}")
    views = [View(t, l, crop, crop) for t, l in boxes]
    if num_crops == 10:
        views += [View(t, l, crop, crop, flip=True) for t, l in boxes]
    return views


def normalize_rgb(frames: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """uint8 ``(T, H, W, 3)`` -> float32 ``(3, T, H, W)``, ``(x / 255 - mean) / std``."""
    x = frames.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))


def flow_to_channels_first(flow: np.ndarray) -> np.ndarray:
    """``(L, H, W, 2)`` -> ``(2, L, H, W)``, the contract's flow clip layout."""
    return np.ascontiguousarray(flow.transpose(3, 0, 1, 2))
