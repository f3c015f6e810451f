"""The frozen backbone: a trained zoo model whose features are computed once per example.

Each video yields ``views`` clips spread evenly in time (in temporal order), decoded and centre-cropped by the
shared data pipeline. One forward per clip gives both what the learners read:

* pooled features ``(D,)``: the input of the model's classifier (the last ``nn.Linear`` with K outputs);
* mid-level maps ``(C, t, h, w)``: the output of the REMIND layer (only when one is named).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import nn
from tqdm import tqdm

from vidzoo.data.annotations import VideoRecord
from vidzoo.data.dataset import VideoDataset, collate_clips
from vidzoo.data.decoding import build_decoder
from vidzoo.data.sampling import UniformClipSampler
from vidzoo.data.transforms import eval_transform
from vidzoo.errors import ConfigValueError
from vidzoo.streaming.split import find_classifier


@dataclass
class FeatureSet:
    """Per-video features: ``pooled`` ``(N, views, D)``, ``maps`` ``(N, views, C, t, h, w)`` or None,
    ``labels`` ``(N,)``; videos that failed to decode are left out and listed in ``failed``."""

    pooled: torch.Tensor
    maps: torch.Tensor | None
    labels: torch.Tensor
    failed: list[str] = field(default_factory=list)

    @property
    def views(self) -> int:
        return int(self.pooled.shape[1])

    def subset(self, index: Sequence[int] | torch.Tensor) -> "FeatureSet":
        idx = torch.as_tensor(index, dtype=torch.int64)
        return FeatureSet(self.pooled[idx], None if self.maps is None else self.maps[idx], self.labels[idx])

    def flat(self, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Every clip's ``pooled`` or ``maps`` features ``(N*views, ...)`` with its label ``(N*views,)``."""
        x = self.pooled if kind == "pooled" else self.maps
        assert x is not None, "no mid-level maps were extracted (no REMIND layer was named)"
        return x.flatten(0, 1), self.labels.repeat_interleave(self.views)


def check_input_size(checkpoint: str, preprocessing: dict[str, Any], data: Any) -> None:
    """Refuse a backbone trained on clips of another size or modality than ``data`` asks for."""
    want = (int(data.num_frames), int(data.crop_size))
    have = (int(preprocessing.get("num_frames", want[0])), int(preprocessing.get("crop_size", want[1])))
    if want != have:
        raise ConfigValueError(
            f"backbone_checkpoint={checkpoint} was trained on {have[0]}-frame {have[1]}x{have[1]} clips but the "
            f"data config gives {want[0]}-frame {want[1]}x{want[1]} clips; set data.num_frames={have[0]} "
            f"data.crop_size={have[1]} or use a checkpoint trained at this size"
        )
    if preprocessing.get("modality", "rgb") != "rgb" or data.modality != "rgb":
        raise ConfigValueError(f"streaming reads RGB clips; backbone_checkpoint={checkpoint} and data.modality "
                               f"must be rgb")


class FrozenBackbone:
    """``model`` in eval mode without gradients; ``extract`` returns its pooled features (and REMIND maps)."""

    def __init__(self, model: nn.Module, num_classes: int, example: torch.Tensor, remind_layer: str = "") -> None:
        self.model = model.eval().requires_grad_(False)
        self.classifier = find_classifier(self.model, example, num_classes)
        self.remind_layer = remind_layer

    @torch.no_grad()
    def extract(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, C, T, H, W)`` -> pooled ``(B, D)`` and maps ``(B, C', t, h, w)`` (None without a REMIND layer)."""
        got: dict[str, torch.Tensor] = {}

        def take_input(_m: nn.Module, args: tuple) -> None:
            got.setdefault("pooled", args[0])

        def take_output(_m: nn.Module, _args: tuple, out: torch.Tensor) -> None:
            got.setdefault("maps", out.clone())

        hooks = [self.model.get_submodule(self.classifier.name).register_forward_pre_hook(take_input)]
        if self.remind_layer:
            hooks.append(self.model.get_submodule(self.remind_layer).register_forward_hook(take_output))
        try:
            self.model(clips)
        finally:
            for h in hooks:
                h.remove()
        b = clips.shape[0]
        pooled = got["pooled"].reshape(b, -1, self.classifier.in_features).mean(1)  # per-frame heads: mean
        maps = got.get("maps")
        return pooled.float().cpu(), None if maps is None else maps.float().cpu()  # learners run on the CPU


def clip_dataset(records: Sequence[VideoRecord], data: Any, views: int, mean: Sequence[float],
                 std: Sequence[float]) -> VideoDataset:
    """``views`` evenly spaced centre-cropped clips per video, as the shared pipeline decodes them."""
    sampler = UniformClipSampler(int(data.num_frames), int(data.stride), num_clips=views)
    transform = eval_transform(int(data.resize), int(data.crop_size), mean=mean, std=std)
    return VideoDataset(records, sampler, build_decoder(data.decoder), transform)


def extract_features(backbone: FrozenBackbone, dataset: VideoDataset, views: int, *, batch_size: int = 8,
                     num_workers: int = 0, progress: bool = True, desc: str = "features") -> FeatureSet:
    """Run the backbone once over every clip of ``dataset`` (``views`` per video)."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                                         collate_fn=collate_clips)
    pooled, maps, labels, failed = [], [], [], []
    for batch in tqdm(loader, desc=desc, disable=not progress, unit="batch"):
        failed += batch["failed"]
        if batch["inputs"] is None:
            continue
        x = batch["inputs"]
        x = x.reshape(-1, *x.shape[-4:])  # (B*views, C, T, H, W)
        p, m = backbone.extract(x)
        pooled.append(p.reshape(len(batch["label"]), views, -1))
        if m is not None:
            maps.append(m.reshape(len(batch["label"]), views, *m.shape[1:]))
        labels.append(batch["label"])
    if not pooled:
        raise ConfigValueError(f"no video of the {desc} set could be decoded ({len(failed)} failed, e.g. "
                               f"{failed[:1]}); check data.root")
    return FeatureSet(torch.cat(pooled), torch.cat(maps) if maps else None, torch.cat(labels), failed)
