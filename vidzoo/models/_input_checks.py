"""Input validation shared by the clip models: one clear message instead of a cryptic conv error."""

from __future__ import annotations

from torch import Tensor


def check_clip(x: Tensor, channels: int, model: str, min_frames: int = 1) -> None:
    """Raise ``ValueError`` unless ``x`` is a float clip batch ``(B, channels, T, H, W)`` with ``T >= min_frames``."""
    if x.dim() != 5 or x.shape[1] != channels:
        raise ValueError(
            f"{model}: expected a clip batch (B, {channels}, T, H, W), got shape {tuple(x.shape)}; "
            f"batch clips as (B, C, T, H, W) with C={channels}"
        )
    if x.shape[2] < min_frames:
        raise ValueError(
            f"{model}: needs at least {min_frames} frames per clip, got T={x.shape[2]}; raise data.num_frames"
        )
    if not x.is_floating_point():
        raise ValueError(f"{model}: expected a float clip, got dtype {x.dtype}; convert and normalise the frames first")
