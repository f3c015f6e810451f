"""Evaluation: clip scores -> video scores (mean softmax over clips x crops) -> metrics."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from vidzoo.engine.distributed import DistInfo, all_gather_objects
from vidzoo.engine.inputs import Inputs, flatten_views, has_views
from vidzoo.engine.metrics import classification_report
from vidzoo.errors import EmptyResultsError


@torch.no_grad()
def predict(
    model: nn.Module,
    loader,
    prepare: Callable[[Inputs], Inputs],
    *,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
    dist_info: DistInfo = DistInfo(),
    progress: bool = False,
    desc: str = "eval",
) -> dict:
    """Run ``model`` over ``loader``; return per-video softmax scores of every view, gathered over ranks.

    Returns ``{"index": (N,), "label": (N,), "scores": list of (V, K) arrays, "failed": [...]}``
    with N videos sorted by dataset index.
    """
    model.eval()
    indices, labels, scores, failed = [], [], [], []
    bar = tqdm(loader, desc=desc, unit="batch", disable=not (progress and dist_info.is_main), leave=False)
    for batch in bar:
        failed.extend(batch.get("failed", []))
        if batch.get("inputs") is None:
            continue
        inputs = prepare(batch["inputs"])
        if has_views(inputs):
            flat, b, v = flatten_views(inputs)
        else:
            flat, b, v = inputs, len(batch["label"]), 1
        with autocast():
            logits = model(flat)
        probs = torch.softmax(logits.float(), dim=-1).view(b, v, -1).cpu().numpy()
        scores.extend(probs)
        labels.extend(torch.as_tensor(batch["label"]).tolist())
        indices.extend(torch.as_tensor(batch["index"]).tolist())
    parts = all_gather_objects((indices, labels, scores, failed), dist_info)
    merged: dict[int, tuple[int, np.ndarray]] = {}
    all_failed: list[str] = []
    for idx, lab, sc, fl in parts:
        merged.update({i: (l, s) for i, l, s in zip(idx, lab, sc)})
        all_failed.extend(fl)
    order = sorted(merged)
    return {
        "index": np.asarray(order, dtype=np.int64),
        "label": np.asarray([merged[i][0] for i in order], dtype=np.int64),
        "scores": [merged[i][1] for i in order],
        "failed": sorted(set(all_failed)),
    }


def nothing_loaded(what: str, failed: list[str]) -> str:
    """The one-line message for a pass in which no ``what`` video could be loaded (``failed`` lists them)."""
    paths = sorted(set(failed))
    first = f", first: {paths[0]}" if paths else ""
    return (f"no {what} video could be loaded ({len(paths)} failed{first}); check data.root and data.flow_root "
            "(they must hold the split's videos and their flow) and that the files decode")


def report_from_predictions(pred: dict, class_names: list[str]) -> dict:
    """Clip-level (each view alone) and video-level (views averaged) metrics.

    Raises :class:`EmptyResultsError` when no video was scored (all failed to load): an empty result is a failure,
    not a report of NaN accuracies.
    """
    if not pred["scores"]:
        raise EmptyResultsError(nothing_loaded("evaluation", pred["failed"]))
    video = np.stack([s.mean(axis=0) for s in pred["scores"]])
    clip = np.concatenate(pred["scores"], axis=0)
    clip_labels = np.concatenate([np.full(len(s), l) for s, l in zip(pred["scores"], pred["label"])])
    report = classification_report(video, pred["label"], clip, clip_labels, class_names)
    report["failed_videos"] = {"count": len(pred["failed"]), "paths": pred["failed"]}
    return report
