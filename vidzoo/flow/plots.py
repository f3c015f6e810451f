"""Flow-field pictures: the HSV colour wheel (hue = direction, brightness = speed), saved as PNG.

Direction follows image coordinates (y down): a field moving right is red, down is
yellow-green, left is cyan, up is violet. :func:`save_flow_png` puts the RGB frame(s), the
colour-coded flow and a colour-wheel legend side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """``(H, W, 2)`` displacements -> ``(H, W, 3)`` uint8 RGB: hue = angle, value = magnitude / ``max_magnitude``.

    ``max_magnitude`` defaults to the field's largest magnitude (a still field is black).
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected a flow field (H, W, 2), got shape {flow.shape}")
    mag, ang = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    top = float(max_magnitude) if max_magnitude else float(mag.max())
    hsv = np.empty(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = (ang * (90.0 / np.pi)).astype(np.uint8) % 180  # OpenCV hue is 0..179 for 0..360 degrees
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag / top * 255.0, 0, 255).astype(np.uint8) if top > 0 else 0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def color_wheel(size: int = 64) -> np.ndarray:
    """The legend: an ``(size, size, 3)`` uint8 disc coloured as a field pointing from its centre outwards."""
    c = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([x - c, y - c], axis=-1)
    rgb = flow_to_rgb(flow, max_magnitude=c)
    rgb[np.hypot(x - c, y - c) > c] = 255
    return rgb


def save_flow_png(
    path: str | Path,
    flows: Sequence[np.ndarray] | np.ndarray,
    frames: Sequence[np.ndarray] | np.ndarray | None = None,
    max_magnitude: float | None = None,
) -> Path:
    """Save a strip of colour-coded flow fields ``(L, H, W, 2)`` (above them the RGB ``frames`` when given)
    plus a colour wheel to ``path`` (PNG). One ``max_magnitude`` (default: the largest in ``flows``)
    is used for every field so their brightness is comparable."""
    flows = np.asarray(flows, np.float32)
    if flows.ndim == 3:
        flows = flows[None]
    top = max_magnitude or float(np.hypot(flows[..., 0], flows[..., 1]).max()) or 1.0
    h, w = flows.shape[1:3]
    row = np.concatenate([flow_to_rgb(f, top) for f in flows], axis=1)
    rows = [row]
    if frames is not None:
        frames = np.asarray(frames, np.uint8)
        strip = np.concatenate([cv2.resize(f, (w, h)) for f in frames], axis=1)
        pad = np.full((h, max(row.shape[1] - strip.shape[1], 0), 3), 255, np.uint8)
        rows.insert(0, np.concatenate([strip, pad], axis=1)[:, : row.shape[1]])  # frames beyond the flows are cut
    grid = np.concatenate(rows, axis=0)
    wheel = color_wheel(min(grid.shape[0], 96))
    legend = np.full((grid.shape[0], wheel.shape[1] + 4, 3), 255, np.uint8)
    legend[: wheel.shape[0], 4:] = wheel
    image = np.concatenate([grid, legend], axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write {path}; check the folder is writable and the name ends in .png")
    return path
