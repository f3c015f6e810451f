"""``VideoDataset``: records + sampler + decoder + transform -> model-ready clips, one dict per video.

Items are ``{"inputs": tensor, "label": int, "index": int}`` with ``inputs`` ``(C, T, H, W)`` for one view or
``(V, C, T, H, W)`` for multi-view evaluation, or ``{"error": "<path>: <reason>", "index": int}`` when the
video cannot be decoded (the trainer counts and lists those instead of crashing).

Randomness: sample ``i`` in epoch ``e`` draws everything (clip position, crop, flip) from
``np.random.default_rng([seed, e, i])``, so augmentation does not depend on the number of workers or on
which worker gets the sample, and a run resumed at epoch ``e`` sees the same clips. The epoch lives in shared
memory, so ``set_epoch`` reaches persistent DataLoader workers too (call it before iterating the loader).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from vidzoo.data.annotations import VideoRecord
from vidzoo.data.decoding import Decoder, VideoDecodeError
from vidzoo.data.sampling import ClipSampler
from vidzoo.data.transforms import ClipTransform

__all__ = ["VideoDataset", "collate_clips"]


class VideoDataset(Dataset):
    """Clips of labelled videos.

    Args:
        records: the videos (``VideoRecord``: absolute path, 0-based label, optional start/end seconds).
        sampler: frame indices per video, ``(V, L)`` (see ``vidzoo.data.sampling``).
        decoder: a ``Decoder`` (``vidzoo.data.decoding.build_decoder``).
        transform: a ``ClipTransform``; its flips swap labels through the flip map it was built with.
        class_names: optional, for reports.
        seed: base seed of the per-sample generators.
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampler: ClipSampler,
        decoder: Decoder,
        transform: ClipTransform,
        *,
        class_names: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.records = list(records)
        self.sampler, self.decoder, self.transform = sampler, decoder, transform
        self.class_names = list(class_names) if class_names is not None else None
        self.seed = int(seed)
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's augmentation draws (visible to already-running workers)."""
        self._epoch[0] = int(epoch)

    @property
    def labels(self) -> list[int]:
        return [r.label for r in self.records]

    def frame_indices(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """Absolute frame indices ``(V, L)`` for record ``index`` (honours the record's start/end seconds)."""
        rec = self.records[index]
        total = self.decoder.num_frames(rec.path)
        first, end = 0, total
        if rec.start is not None or rec.end is not None:
            fps = self.decoder.fps(rec.path)
            first = min(max(0, int(round((rec.start or 0.0) * fps))), total - 1)
            end = total if rec.end is None else min(total, max(first + 1, int(round(rec.end * fps))))
        return self.sampler(end - first, rng) + first

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        try:
            idx = self.frame_indices(index, rng)
            frames = self.decoder.decode(rec.path, idx.reshape(-1))
        except VideoDecodeError as err:
            return {"error": str(err), "index": int(index)}
        clips = frames.reshape(idx.shape + frames.shape[1:])  # (V, L, H, W, C)
        if clips.shape[0] == 1:
            clips = clips[0]
        inputs, label = self.transform.apply(clips, rng, rec.label)
        return {"inputs": inputs, "label": int(label), "index": int(index)}

    def __repr__(self) -> str:
        return f"VideoDataset({len(self)} videos, sampler={self.sampler!r}, transform={self.transform!r})"


def _stack(values: list[Any]) -> Any:
    if isinstance(values[0], dict):  # multi-modal inputs: {"rgb": ..., "flow": ...}
        return {k: _stack([v[k] for v in values]) for k in values[0]}
    return torch.stack(values)


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of items into a batch.

    Returns ``{"inputs": (B, ...) tensor (or dict of them) or None if every item failed, "label": int64 (B,),
    "index": int64 (B,), "failed": list of "<path>: <reason>", "failed_index": int64 (F,)}``.
    """
    ok = [b for b in batch if "error" not in b]
    bad = [b for b in batch if "error" in b]
    return {
        "inputs": _stack([b["inputs"] for b in ok]) if ok else None,
        "label": torch.tensor([b["label"] for b in ok], dtype=torch.int64),
        "index": torch.tensor([b["index"] for b in ok], dtype=torch.int64),
        "failed": [b["error"] for b in bad],
        "failed_index": torch.tensor([b["index"] for b in bad], dtype=torch.int64),
    }
