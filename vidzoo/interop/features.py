"""Clip features for whole videos: one L2-normalised vector per video from any layer of a zoo checkpoint.

The C3D protocol (Tran et al. 2015): clips of the checkpoint's ``num_frames`` (16 for C3D) start every
``step`` frames (8), each clip's activation of ``layer`` (``fc6``) is read through a forward hook, the clips
are averaged and the mean is L2-normalised. Any module name works (``fc7``, ``layer4``, ``avgpool``); its
output is flattened per clip. The value is what the module returned as the network leaves it after the
forward pass: an in-place ReLU that follows (C3D's fc6) has applied, as in Caffe's in-place fc6 blob.

Output mirrors the video folder: ``<output>/<relpath>.npy`` (float32 ``(D,)``), each written to a hidden
temporary file and renamed into place, so a killed run never leaves a file that looks finished; a re-run
skips finished videos, and ``shard=i/N`` takes every N-th video, as ``vidzoo-extract-flow`` does.
``<output>/features.json`` records the checkpoint and settings; a run with other settings refuses the folder.
"""

from __future__ import annotations

import difflib
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from vidzoo.data.transforms import eval_transform
from vidzoo.engine.checkpoint import resolve_checkpoint, write_json_atomic
from vidzoo.files import atomic_write_bytes, remove_leftovers
from vidzoo.engine.model_loading import load_model
from vidzoo.errors import ConfigValueError
from vidzoo.flow.extraction import FlowExtractionError, iter_rgb_frames

MANIFEST = "features.json"


@dataclass
class FeatureOptions:
    """Settings of one extraction run (``layer`` and ``step`` determine the values written)."""

    layer: str = "fc6"
    step: int = 8
    batch_size: int = 16
    device: str = "auto"
    progress: bool = True
    which: str = "best"

    @classmethod
    def from_strings(cls, args: dict[str, str]) -> FeatureOptions:
        """Options from ``key=value`` strings; a bad value raises :class:`ConfigValueError` naming the key."""
        kw: dict[str, Any] = {k: args[k] for k in ("layer", "device", "which") if k in args}
        for key in ("step", "batch_size"):
            if key in args:
                if not args[key].isdigit() or int(args[key]) < 1:
                    raise ConfigValueError(f"{key}={args[key]!r} must be a whole number >= 1")
                kw[key] = int(args[key])
        if "progress" in args:
            kw["progress"] = args["progress"].lower() not in ("0", "false", "no")
        return cls(**kw)


@dataclass
class FeatureSummary:
    done: int = 0  # videos written in this run
    skipped: int = 0  # finished before this run
    clips: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # "<path>: <reason>"


class LayerTap:
    """Forward hook on ``model.<layer>`` keeping its latest output; use as a context manager."""

    def __init__(self, model: nn.Module, layer: str) -> None:
        names = [n for n, _ in model.named_modules() if n]
        if layer not in names:
            close = difflib.get_close_matches(layer, names, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"choose one of: {', '.join(names[:12])}, ..."
            raise ConfigValueError(f"layer={layer!r} is not a module of {type(model).__name__}; {hint}")
        self.module = model.get_submodule(layer)
        self.output: Tensor | None = None

    def _hook(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self.output = output[0] if isinstance(output, (tuple, list)) else output

    def __enter__(self) -> LayerTap:
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.remove()


def clip_indices(total: int, num_frames: int, stride: int, step: int) -> list[list[int]]:
    """Frame indices of every clip: starts 0, step, 2*step, ... while the clip fits; one looped clip if none fits."""
    span = (num_frames - 1) * stride + 1
    starts = list(range(0, max(total - span, 0) + 1, step))
    return [[(s + i * stride) % total for i in range(num_frames)] for s in starts]


def video_clips(path: str | Path, prep: dict[str, Any], step: int) -> Tensor:
    """Decode ``path`` and cut it into normalised clips ``(N, C, T, H, W)`` as ``prep`` (a checkpoint's) says."""
    frames = np.stack(list(iter_rgb_frames(path)))  # (F, H, W, 3) RGB
    if prep.get("channel_order") == "bgr":
        frames = frames[..., ::-1]
    transform = eval_transform(prep["resize"], prep["crop_size"], mean=prep["mean"], std=prep["std"])
    video = transform(frames)  # (C, F, H, W), resized and cropped once for all clips
    index = torch.tensor(clip_indices(video.shape[1], prep["num_frames"], prep.get("stride", 1), step))
    return video[:, index].permute(1, 0, 2, 3, 4)  # (N, C, T, H, W)


@torch.no_grad()
def video_feature(model: nn.Module, tap: LayerTap, clips: Tensor, batch_size: int, device: torch.device) -> np.ndarray:
    """Mean over clips of the tapped activation (flattened per clip), L2-normalised: float32 ``(D,)``."""
    total = None
    for chunk in clips.split(batch_size):
        model(chunk.to(device))
        if tap.output is None:
            raise ConfigValueError(f"layer {tap.module!r} did not run in the forward pass; choose another layer=")
        summed = tap.output.reshape(chunk.shape[0], -1).float().sum(0)
        total = summed if total is None else total + summed
    mean = total / clips.shape[0]
    return (mean / mean.norm().clamp_min(1e-12)).cpu().numpy().astype(np.float32)


def feature_path(video: Path, video_root: Path, out_root: Path) -> Path:
    """``<out_root>/<video relative to video_root, extension replaced by .npy>``."""
    return out_root / Path(video).relative_to(video_root).with_suffix(".npy")


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as ``.npy`` through :func:`vidzoo.files.atomic_write_bytes` (temporary sibling, rename)."""
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def _remove_stale_partials(path: Path) -> None:
    """Temporaries a killed run of this tool left beside ``path`` (the atomic writer's own pattern only)."""
    if path.parent.is_dir():
        remove_leftovers(path.parent, lambda name: name == path.name)


def _check_manifest(out_root: Path, manifest: dict[str, Any]) -> None:
    existing = out_root / MANIFEST
    if existing.is_file():
        old = json.loads(existing.read_text())
        if old != manifest:
            diff = next(k for k in manifest if old.get(k) != manifest[k])
            raise ConfigValueError(f"{out_root} holds features made with {diff}={old.get(diff)!r}, not "
                                   f"{manifest[diff]!r}; pass another output= folder")
    else:
        write_json_atomic(existing, manifest)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def extract_features(
    checkpoint: str | Path,
    videos: Sequence[str | Path],
    video_root: str | Path,
    out_root: str | Path,
    options: FeatureOptions = FeatureOptions(),
) -> FeatureSummary:
    """Write one feature vector per video of ``videos`` (paths under ``video_root``) into ``out_root``.

    Finished videos (their ``.npy`` exists) are skipped, so a run that was stopped resumes where it stopped.
    """
    from tqdm import tqdm

    device = _device(options.device)
    ckpt_dir = resolve_checkpoint(checkpoint, options.which)
    model, _, prep = load_model(ckpt_dir, device=device)
    if prep.get("modality", "rgb") != "rgb":
        raise ConfigValueError(f"{ckpt_dir} takes {prep['modality']} input; feature extraction reads RGB videos")
    video_root, out_root = Path(video_root), Path(out_root)
    manifest = {"checkpoint": str(ckpt_dir.resolve()), "layer": options.layer, "step": options.step,
                "preprocessing": prep}
    summary = FeatureSummary()
    todo = []
    for video in videos:
        target = feature_path(Path(video), video_root, out_root)
        if target.is_file():
            summary.skipped += 1
        else:
            todo.append((Path(video), target))
    start = time.perf_counter()
    with LayerTap(model, options.layer) as tap:
        _check_manifest(out_root, manifest)
        bar = tqdm(total=len(todo), unit="video", disable=not options.progress, dynamic_ncols=True,
                   desc=options.layer, mininterval=0.5)
        try:
            for video, target in todo:
                _remove_stale_partials(target)
                try:
                    clips = video_clips(video, prep, options.step)
                except FlowExtractionError as exc:
                    summary.failed.append(str(exc))
                else:
                    save_npy_atomic(target, video_feature(model, tap, clips, options.batch_size, device))
                    summary.done += 1
                    summary.clips += clips.shape[0]
                bar.update(1)
                bar.set_postfix(clips_per_s=f"{summary.clips / max(time.perf_counter() - start, 1e-9):.1f}",
                                failed=len(summary.failed))
        finally:
            bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def extract_features_cli(args: dict[str, str], options: FeatureOptions) -> FeatureSummary:
    """``vidzoo-extract-features``: list (and shard) the videos, extract, print a one-line summary."""
    import argparse
    import sys

    from vidzoo.flow.extraction import list_videos, parse_shard, read_video_list, shard_videos

    try:
        index, count = parse_shard(args.get("shard", "0/1"))
    except argparse.ArgumentTypeError as exc:
        raise ConfigValueError(str(exc)) from None
    root = args["data"]
    videos = read_video_list(args["list"], root) if "list" in args else list_videos(root)
    summary = extract_features(args["checkpoint"], shard_videos(videos, index, count), root, args["output"], options)
    print(f"shard {index}/{count}: {summary.done} extracted, {summary.skipped} already done, {len(summary.failed)} "
          f"failed; {summary.clips} clips in {summary.seconds:.1f} s -> {args['output']}")
    for line in summary.failed:
        print(f"failed: {line}", file=sys.stderr)
    return summary


__all__ = ["FeatureOptions", "FeatureSummary", "LayerTap", "clip_indices", "extract_features", "video_clips",
           "video_feature"]
