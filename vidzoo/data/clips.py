"""``load_clips``: one video file -> the model input a checkpoint expects, outside any dataset or trainer.

It builds the same test-time sampler and transform that evaluation uses from a checkpoint's
``preprocessing`` dict (as returned by :func:`vidzoo.load_model`), so a clip read here is, pixel for pixel,
what the checkpoint saw when it was evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidzoo.data.decoding import build_decoder
from vidzoo.data.builder import build_sampler
from vidzoo.data.sampling import ClipSampler
from vidzoo.data.transforms import KINETICS_MEAN, KINETICS_STD, eval_transform

__all__ = ["load_clips"]

_REQUIRED = ("resize", "crop_size", "num_frames")


def _test_sampler(pre: Mapping[str, Any], num_clips: int) -> ClipSampler:
    """The evaluation sampler of ``data.sampler`` with the checkpoint's settings."""
    kind = pre.get("sampler", "random")
    if kind not in ("random", "segment", "sequence", "multiclip"):
        raise ValueError(f"preprocessing['sampler'] is {kind!r}; load_clips knows random, segment, sequence and "
                         "multiclip")
    return build_sampler(kind, train=False, num_frames=int(pre["num_frames"]), stride=int(pre.get("stride", 1)),
                         test_clips=num_clips, seq_clips=int(pre.get("seq_clips", 1)),
                         clip_strides=tuple(pre.get("clip_strides", (5, 15))))


def load_clips(
    path: str | Path,
    preprocessing: Mapping[str, Any],
    *,
    num_clips: int = 1,
    num_crops: int = 1,
    decoder: str = "pyav",
) -> torch.Tensor:
    """Read ``path`` into normalised float clips ``(V, C, T, H, W)`` ready for ``model(clips)``.

    ``preprocessing`` is the checkpoint's own (``load_model(...)[2]``): frames are sampled with its
    ``num_frames``/``stride``/``sampler`` (``num_clips`` evenly spaced clips for the ``random`` sampler),
    the short side resized to ``resize`` (antialiased), centre-cropped (``num_crops=1``), three-cropped
    (3), five- or ten-cropped (5, 10) to ``crop_size``, scaled from 0-255 to 0-1 and normalised with its ``mean``/``std``.
    ``V`` = clips x crops; average the model's softmax over ``V`` for a video-level score.
    RGB checkpoints only: flow models read stored flow (``vidzoo-extract-flow``).
    """
    missing = [k for k in _REQUIRED if k not in preprocessing]
    if missing:
        raise ValueError(f"preprocessing lacks {', '.join(missing)}; pass the dict returned by vidzoo.load_model")
    modality = preprocessing.get("modality", "rgb")
    if modality != "rgb":
        raise ValueError(f"load_clips reads RGB video; this checkpoint expects modality {modality!r} "
                         "(extract flow with vidzoo-extract-flow and evaluate with vidzoo-test)")
    sampler = _test_sampler(preprocessing, int(num_clips))
    transform = eval_transform(
        int(preprocessing["resize"]),
        int(preprocessing["crop_size"]),
        num_crops=int(num_crops),
        mean=tuple(preprocessing.get("mean", KINETICS_MEAN)),
        std=tuple(preprocessing.get("std", KINETICS_STD)),
    )
    video = build_decoder(decoder)
    indices = sampler(video.num_frames(str(path)), np.random.default_rng(0))  # (V, L)
    frames = video.decode(str(path), indices.reshape(-1))  # (V * L, H, W, 3) uint8
    clips = frames.reshape(indices.shape + frames.shape[1:])  # (V, L, H, W, 3)
    out = transform(clips)
    return out if out.ndim == 5 else out[None]
