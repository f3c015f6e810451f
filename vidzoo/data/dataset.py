"""``VideoDataset``: records + sampler + decoders + transform -> model-ready clips, one dict per video.

One pipeline for every modality (``data.modality``):

* ``"rgb"``: the sampler picks frame indices of the video; ``inputs`` ``(3, T, H, W)``.
* ``"flow"``: the sampler picks flow-stack starts among the ``P - L + 1`` valid ones of a video with ``P``
  stored flow fields (``L`` = ``flow_length``); start ``s`` reads fields ``s..s+L-1`` (a video with fewer
  than ``L`` fields repeats its last one). ``inputs`` ``(2, T*L, H, W)``, stack-major, pixel displacements.
* ``"rgb+flow"``: the same stack starts, plus the RGB frame in the middle of each stack (``s + L // 2``),
  read with the RGB decoder; ``inputs`` ``{"rgb": (3, T, H, W), "flow": (2, T*L, H, W)}``.

Multi-view evaluation adds a leading ``V`` to every tensor. The same ``ClipTransform`` resizes, crops and
flips every modality of a sample together (one draw; a flip negates flow x), so the RGB of a two-stream
sample is, pixel for pixel, what the ``rgb`` pipeline gives for the same frames and draws. Items are
``{"inputs": ..., "label": int, "index": int}``, or ``{"error": "<path>: <reason>", "index": int}`` when a
video (or its flow) cannot be read (the trainer counts and lists those instead of crashing).

Randomness: sample ``i`` in epoch ``e`` draws everything (clip or stack positions, then crop and flip) from
``np.random.default_rng([seed, e, i])``, so augmentation does not depend on the number of workers or on which
worker gets the sample, and a run resumed at epoch ``e`` sees the same clips. The epoch lives in shared memory,
so ``set_epoch`` reaches persistent DataLoader workers too (call it before iterating the loader).
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

__all__ = ["MODALITIES", "VideoDataset", "collate_clips", "sample_rng"]

MODALITIES = ("rgb", "flow", "rgb+flow")


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch``: the sampler draws from it first, then the transform."""
    return np.random.default_rng([int(seed), int(epoch), int(index)])


class VideoDataset(Dataset):
    """Clips of labelled videos in one modality; see the module docstring.

    Args:
        records: the videos (``VideoRecord``: absolute path, 0-based label, optional start/end seconds).
        sampler: indices per video, ``(V, N)`` (see ``vidzoo.data.sampling``): frames for ``rgb``, flow-stack
            starts for ``flow`` and ``rgb+flow``.
        decoder: the RGB ``Decoder`` (``vidzoo.data.decoding.build_decoder``); unused for ``flow``.
        transform: a ``ClipTransform``; its flips swap labels through the flip map it was built with.
        class_names: optional, for reports.
        seed: base seed of the per-sample generators.
        modality: ``rgb``, ``flow`` or ``rgb+flow``.
        flow_decoder: the ``"flow"`` decoder over stored flow (``vidzoo.data.decoding.flow``), for flow modalities.
        flow_length: ``L``, flow fields per stack.
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        sampler: ClipSampler,
        decoder: Decoder | None,
        transform: ClipTransform,
        *,
        class_names: Sequence[str] | None = None,
        seed: int = 0,
        modality: str = "rgb",
        flow_decoder: Decoder | None = None,
        flow_length: int = 1,
    ) -> None:
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
        if modality != "rgb" and (flow_decoder is None or flow_length < 1):
            raise ValueError(f"modality {modality!r} needs a flow decoder and flow_length >= 1")
        if modality != "flow" and decoder is None:
            raise ValueError(f"modality {modality!r} needs an RGB decoder")
        self.records = list(records)
        self.sampler, self.decoder, self.transform = sampler, decoder, transform
        self.modality, self.flow_decoder, self.flow_length = modality, flow_decoder, int(flow_length)
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

    def _window(self, rec: VideoRecord, decoder: Decoder) -> tuple[int, int]:
        """``[first, end)`` of the record's start/end seconds, in ``decoder``'s frame (or field) numbers."""
        total = decoder.num_frames(rec.path)
        first, end = 0, total
        if rec.start is not None or rec.end is not None:
            fps = decoder.fps(rec.path)
            first = min(max(0, int(round((rec.start or 0.0) * fps))), total - 1)
            end = total if rec.end is None else min(total, max(first + 1, int(round(rec.end * fps))))
        return first, end

    def frame_indices(self, index: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """What sample ``index`` reads: ``{"rgb": frames (V, N)}`` and/or ``{"flow": fields (V, N*L)}``."""
        rec = self.records[index]
        if self.modality == "rgb":
            first, end = self._window(rec, self.decoder)
            return {"rgb": self.sampler(end - first, rng) + first}
        first, end = self._window(rec, self.flow_decoder)
        length = self.flow_length
        starts = self.sampler(max(end - first - length + 1, 1), rng) + first  # (V, N) stack starts
        fields = np.minimum(starts[:, :, None] + np.arange(length), end - 1).reshape(len(starts), -1)
        out = {"flow": fields}
        if self.modality == "rgb+flow":
            out["rgb"] = np.minimum(starts + length // 2, self.decoder.num_frames(rec.path) - 1)
        return out

    def _read(self, path: str, key: str, idx: np.ndarray) -> np.ndarray:
        decoder = self.decoder if key == "rgb" else self.flow_decoder
        frames = decoder.decode(path, idx.reshape(-1))
        clips = frames.reshape(idx.shape + frames.shape[1:])  # (V, N, H, W, C)
        return clips[0] if clips.shape[0] == 1 else clips

    def __getitem__(self, index: int) -> dict[str, Any]:
        rec = self.records[index]
        rng = sample_rng(self.seed, self.epoch, index)
        try:
            parts = {key: self._read(rec.path, key, idx) for key, idx in self.frame_indices(index, rng).items()}
        except VideoDecodeError as err:
            return {"error": str(err), "index": int(index)}
        inputs, label = self.transform.apply(parts, rng, rec.label)
        if self.modality != "rgb+flow":
            inputs = inputs[self.modality]
        return {"inputs": inputs, "label": int(label), "index": int(index)}

    def __repr__(self) -> str:
        return (f"VideoDataset({len(self)} videos, modality={self.modality}, sampler={self.sampler!r}, "
                f"transform={self.transform!r})")


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
