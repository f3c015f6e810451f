"""Datasets over extracted flow: temporal-stream stacks, optionally paired with the RGB frames they start from.

Sampling (per video with ``P`` flow fields): the valid stack starts ``0..P-L`` are split into
``num_segments`` (T) equal segments; training picks a random start in each segment (TSN-style),
evaluation takes ``test_clips`` evenly spaced positions inside each segment. A stack starting
at ``s`` covers frames ``s..s+L``; its RGB frame is the middle one, ``s + L // 2``. Videos with
fewer than ``L`` fields repeat their last field.

Items follow the vidzoo dataset contract:

* ``modality="flow"``: ``inputs`` float32 ``(2, T*L, H, W)`` (``(V, 2, T*L, H, W)`` for evaluation);
* ``modality="rgb+flow"``: ``{"rgb": (3, T, H, W), "flow": (2, T*L, H, W)}`` (each with a leading
  ``V`` for evaluation), cropped and flipped identically;
* ``modality="rgb"``: the RGB frames alone, ``(3, T, H, W)``;
* ``{"error": "<path>: <reason>", "index": i}`` for a video whose flow or frames cannot be read.

Mean-flow subtraction (``mean_subtraction``) is off here by default: the two-stream models do it
themselves (``mean_flow_subtraction``, on for the full-size models), so one switch in the model
config controls it. Training flips horizontally with probability 0.5 (flow x negated) and maps the label through
``flip_pairs`` (e.g. TranslateLeft <-> TranslateRight), so direction classes stay correct.
Randomness of sample ``i`` in epoch ``e`` comes from ``np.random.default_rng([seed, e, i])``, as in
:class:`vidzoo.data.dataset.VideoDataset`.

Where the flow lives: ``flow_root`` when given (never written to: missing flow is an error that
says how to extract it). When empty, ``<dataset root>/flow`` next to the folder holding the class
folders (``root/videos/<Class>/x.avi`` -> ``root/flow/<Class>/x/``), and any video missing there is
extracted on first use with ``auto_extract`` (DIS by default; resumable, one process at a time).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from vidzoo.data.decoding import VideoDecodeError, build_decoder
from vidzoo.data.transforms import KINETICS_MEAN, KINETICS_STD, flip_map_from_pairs
from vidzoo.flow import storage
from vidzoo.flow import transforms as T
from vidzoo.files import exclusive_lock
from vidzoo.flow.extraction import ExtractionOptions, extract_dataset
from vidzoo.flow.stacks import FlowFrameDecoder, FlowStackDecoder

MODALITIES = ("flow", "rgb+flow", "rgb")


def stack_starts(num_fields: int, flow_length: int, num_segments: int, positions: Sequence[float]) -> np.ndarray:
    """Stack start indices ``(len(positions), num_segments)``: position ``p`` in [0, 1) inside each segment."""
    last = max(num_fields - flow_length, 0)  # largest valid start
    width = (last + 1) / num_segments
    starts = [[int(seg * width + p * width) for seg in range(num_segments)] for p in positions]
    return np.minimum(np.asarray(starts, dtype=np.int64), last)


class FlowClipDataset(Dataset):
    """Flow stacks (and RGB frames) of ``records`` read from ``flow_root``; see the module docstring."""

    def __init__(
        self,
        records: Sequence[Any],
        *,
        flow_root: str | Path,
        video_root: str | Path | None = None,
        modality: str = "flow",
        flow_length: int = 10,
        num_segments: int = 1,
        train: bool = True,
        resize: int | None = 64,
        crop_size: int = 56,
        test_clips: int = 3,
        test_crops: int = 1,
        hflip: bool = True,
        flip_map: Sequence[int] | None = None,
        mean_subtraction: bool = False,
        bound: float | None = None,
        rgb_source: str = "auto",
        rgb_decoder: str = "pyav",
        mean: Sequence[float] = KINETICS_MEAN,
        std: Sequence[float] = KINETICS_STD,
        normalize: bool = True,
        seed: int = 0,
    ) -> None:
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
        if rgb_source not in ("auto", "frames", "video"):
            raise ValueError(f"rgb_source must be auto, frames or video, got {rgb_source!r}")
        if flow_length < 1 or num_segments < 1:
            raise ValueError(f"need flow_length >= 1 and num_segments >= 1, got {flow_length}, {num_segments}")
        self.records = list(records)
        self.modality, self.flow_length, self.num_segments, self.train = modality, flow_length, num_segments, train
        self.resize, self.crop_size, self.test_clips, self.test_crops = resize, crop_size, test_clips, test_crops
        self.hflip, self.mean_subtraction, self.normalize = hflip, mean_subtraction, normalize
        self.flip_map = list(flip_map) if flip_map is not None else None
        self.mean, self.std, self.seed = tuple(mean), tuple(std), int(seed)
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self.flow = FlowStackDecoder(flow_root, video_root, bound)
        self.frames = FlowFrameDecoder(flow_root, video_root)
        self.rgb_source, self.rgb_decoder_name = rgb_source, rgb_decoder
        self._video_decoder = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> list[int]:
        return [int(r.label) for r in self.records]

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's augmentation draws (visible to already-running workers)."""
        self._epoch[0] = int(epoch)

    def _read_rgb(self, path: str, indices: np.ndarray) -> np.ndarray:
        use_frames = self.rgb_source == "frames" or (self.rgb_source == "auto" and self.frames.has_frames(path))
        if use_frames:
            return self.frames.decode(path, indices.tolist())
        if self._video_decoder is None:
            self._video_decoder = build_decoder(self.rgb_decoder_name)
        n = self._video_decoder.num_frames(path)
        return self._video_decoder.decode(path, np.minimum(indices, n - 1).tolist())

    def _views(self, h: int, w: int, rng: np.random.Generator) -> list[T.View]:
        if self.train:
            return [T.random_view(h, w, self.crop_size, rng, flip=self.hflip)]
        return T.eval_views(h, w, self.crop_size, self.test_crops)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        path = str(record.path)
        rng = np.random.default_rng([self.seed, int(self._epoch[0]), int(index)])
        try:
            return self._load(path, int(record.label), index, rng)
        except VideoDecodeError as exc:
            return {"error": str(exc), "index": index}

    def _load(self, path: str, label: int, index: int, rng: np.random.Generator) -> dict[str, Any]:
        num_fields = self.flow.num_frames(path)
        positions = [rng.random()] if self.train else [(c + 0.5) / self.test_clips for c in range(self.test_clips)]
        starts = stack_starts(num_fields, self.flow_length, self.num_segments, positions)  # (clips, T)
        offsets = np.arange(self.flow_length)
        # (clips, T*L) field indices; short videos repeat their last field
        fields = np.minimum(starts[:, :, None] + offsets, num_fields - 1).reshape(len(starts), -1)
        centres = starts + self.flow_length // 2  # (clips, T) RGB frame indices
        views_out: list[Any] = []
        flip_applied = False
        for clip in range(len(starts)):
            flow = self.flow.decode(path, fields[clip].tolist()) if self.modality != "rgb" else None
            rgb = self._read_rgb(path, centres[clip]) if self.modality != "flow" else None
            h, w = (flow if flow is not None else rgb).shape[1:3]
            size = T.resized_size(h, w, self.resize)
            if flow is not None:
                flow = T.resize_flow(flow, size)
            if rgb is not None:
                rgb = T.resize_rgb(rgb, size)
            for view in self._views(size[0], size[1], rng):
                flip_applied = view.flip
                views_out.append(self._finish(flow, rgb, view))
        if self.train:
            label = self.flip_map[label] if (flip_applied and self.flip_map is not None) else label
            return {"inputs": views_out[0], "label": label, "index": index}
        if isinstance(views_out[0], dict):
            inputs: Any = {k: torch.stack([v[k] for v in views_out]) for k in views_out[0]}
        else:
            inputs = torch.stack(views_out)
        return {"inputs": inputs, "label": label, "index": index}

    def _finish(self, flow: np.ndarray | None, rgb: np.ndarray | None, view: T.View) -> Any:
        out = {}
        if flow is not None:
            f = T.apply_view(flow, view, is_flow=True)
            if self.mean_subtraction:
                f = T.subtract_mean_flow(f)
            out["flow"] = torch.from_numpy(T.flow_to_channels_first(f))
        if rgb is not None:
            r = T.apply_view(rgb, view, is_flow=False)
            if self.normalize:
                out["rgb"] = torch.from_numpy(T.normalize_rgb(r, self.mean, self.std))
            else:
                out["rgb"] = torch.from_numpy(np.ascontiguousarray(r.transpose(3, 0, 1, 2)))
        if self.modality == "flow":
            return out["flow"]
        if self.modality == "rgb":
            return out["rgb"]
        return out


def default_flow_location(records: Sequence[Any]) -> tuple[Path, Path]:
    """``(video_root, flow_root)`` for records laid out as ``<root>/<videos>/<Class>/<name>.ext``:
    the folder above the class folders, and ``flow`` next to it."""
    parents = {Path(r.path).parents[1] for r in records}
    if len(parents) != 1:
        raise ValueError(
            f"videos are not under one <videos>/<Class>/ folder ({len(parents)} candidates); set data.flow_root "
            "to where vidzoo-extract-flow wrote their flow"
        )
    video_root = parents.pop()
    return video_root, video_root.parent / "flow"


def ensure_flow(records: Sequence[Any], video_root: Path, flow_root: Path, algorithm: str, dump_rgb: bool) -> None:
    """Extract the flow of every record that has no flow directory yet (prints a progress bar).

    A directory without ``meta.json`` was written by another tool: it is read as it is, never replaced.
    """
    todo = [r.path for r in records if not storage.flow_dir_for(r.path, flow_root, video_root).exists()]
    if not todo:
        return
    print(f"[vidzoo] extracting {algorithm} optical flow for {len(todo)} videos into {flow_root} (once)", flush=True)
    flow_root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(flow_root / ".extract.lock"):  # one extracting process per flow root (DDP ranks)
        params = {"preset": "medium"} if algorithm == "dis" else {}
        options = ExtractionOptions(algorithm=algorithm, dump_rgb=dump_rgb, params=params)
        summary = extract_dataset(todo, video_root, flow_root, options, workers=0, progress=sys.stderr.isatty())
    if summary.failed:  # failed videos surface as error items of the dataset, like undecodable RGB videos
        print(f"[vidzoo] flow extraction failed for {len(summary.failed)} videos, e.g. {summary.failed[0]}")


def build_flow_dataset(
    records: Sequence[Any],
    subset: str,
    *,
    modality: str = "flow",
    flow_root: str | Path | None = None,
    flow_length: int = 10,
    num_frames: int = 1,
    resize: int | None = 64,
    crop_size: int = 56,
    test_clips: int = 1,
    test_crops: int = 1,
    class_names: Sequence[str] = (),
    flip_pairs: Sequence[tuple[str, str]] | None = None,
    decoder: str = "pyav",
    sampler: str = "segment",
    stride: int = 1,
    seq_clips: int = 1,
    mean: Sequence[float] = KINETICS_MEAN,
    std: Sequence[float] = KINETICS_STD,
    normalize: bool = True,
    seed: int = 0,
    auto_extract: str | None = "dis",
    **kwargs: Any,
) -> FlowClipDataset:
    """The flow dataset of ``subset`` (``"train"``: random views; ``"test"``/``"val"``: ``test_clips x
    test_crops`` deterministic views), with the arguments of :func:`vidzoo.data.builder.build_datasets`.

    ``num_frames`` is the number of segments T (RGB frames / flow stacks per sample); ``flow_length``
    is L. ``sampler`` random and segment both mean the segment scheme of the module docstring and
    ``stride``/``seq_clips`` do not apply (stacks are consecutive fields). ``flip_pairs`` are class-name
    pairs swapped by a horizontal flip. ``decoder`` reads RGB frames from the video when none were
    dumped next to the flow. ``auto_extract``: algorithm for missing flow under the default location
    (None: raise instead). Other ``kwargs`` go to :class:`FlowClipDataset`.
    """
    if subset not in ("train", "val", "test"):
        raise ValueError(f"subset must be train, val or test, got {subset!r}")
    if sampler not in ("random", "segment"):
        raise ValueError(f"data.sampler={sampler!r} does not apply to flow; use random or segment")
    video_root = kwargs.pop("video_root", None)
    if not flow_root:
        video_root, flow_root = default_flow_location(records)
        if auto_extract:
            ensure_flow(records, Path(video_root), Path(flow_root), auto_extract, dump_rgb=modality != "flow")
    flip_map = flip_map_from_pairs(list(class_names), flip_pairs) if flip_pairs else None
    return FlowClipDataset(
        records, flow_root=flow_root, video_root=video_root, modality=modality, flow_length=flow_length,
        num_segments=num_frames, train=subset == "train", resize=resize, crop_size=crop_size, test_clips=test_clips,
        test_crops=test_crops, flip_map=flip_map, rgb_decoder=decoder, mean=mean, std=std, normalize=normalize,
        seed=seed, **kwargs,
    )
