"""Where a dataset's stored optical flow lives, and its extraction on first use.

``data.flow_root`` set: the flow is read from there and never written (missing flow is an error item that
says how to extract it). Empty: ``<dataset root>/flow`` next to the folder holding the class folders
(``root/videos/<Class>/x.avi`` -> ``root/flow/<Class>/x/``), and any video missing there is extracted once
with DIS (resumable, one process at a time) by :mod:`vidzoo.flow.extraction`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidzoo.data.decoding import Decoder, build_decoder
from vidzoo.files import exclusive_lock
from vidzoo.flow import storage

__all__ = ["default_flow_location", "ensure_flow", "flow_decoder"]


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


def ensure_flow(records: Sequence[Any], video_root: Path, flow_root: Path, algorithm: str = "dis") -> None:
    """Extract the flow of every record that has no flow directory yet (prints a progress bar).

    A directory without ``meta.json`` was written by another tool: it is read as it is, never replaced.
    """
    from vidzoo.flow.extraction import ExtractionOptions, extract_dataset

    todo = [r.path for r in records if not storage.flow_dir_for(r.path, flow_root, video_root).exists()]
    if not todo:
        return
    print(f"[vidzoo] extracting {algorithm} optical flow for {len(todo)} videos into {flow_root} (once)", flush=True)
    flow_root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(flow_root / ".extract.lock"):  # one extracting process per flow root (DDP ranks)
        params = {"preset": "medium"} if algorithm == "dis" else {}
        options = ExtractionOptions(algorithm=algorithm, params=params)
        summary = extract_dataset(todo, video_root, flow_root, options, workers=0, progress=sys.stderr.isatty())
    if summary.failed:  # failed videos surface as error items of the dataset, like undecodable RGB videos
        print(f"[vidzoo] flow extraction failed for {len(summary.failed)} videos, e.g. {summary.failed[0]}")


def flow_decoder(records: Sequence[Any], flow_root: str | Path | None, auto_extract: str | None = "dis") -> Decoder:
    """The ``"flow"`` decoder for ``records``: over ``flow_root``, or over the default location (extracting
    missing flow with ``auto_extract``; None: leave it missing)."""
    if flow_root:
        return build_decoder("flow", flow_root=flow_root)
    video_root, root = default_flow_location(records)
    if auto_extract:
        ensure_flow(records, video_root, root, auto_extract)
    return build_decoder("flow", flow_root=root, video_root=video_root)
