"""Decoder backends over extracted flow: ``"flow"`` (displacement stacks) and ``"flow_frames"`` (RGB JPEGs).

Both follow the decoder contract of :mod:`vidzoo.data.decoding` (``num_frames``, ``fps``,
``decode(path, indices)``, :class:`VideoDecodeError` on unreadable input) and take the *video*
path, which they map to ``flow_root/<relpath without extension>/`` (see
:func:`vidzoo.flow.storage.flow_dir_for`). For ``"flow"``, frame index ``i`` means the flow of
the frame pair ``(i, i + 1)`` and ``num_frames`` is the number of pairs; for ``"flow_frames"``
it is RGB frame ``i`` (``img_<i+1>.jpg``), the same frames the flow was computed from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.flow import storage


class _FlowDirReader:
    """Shared path mapping and ``meta.json`` cache of the two backends."""

    def __init__(self, flow_root: str | Path, video_root: str | Path | None = None) -> None:
        if not flow_root:
            raise ValueError("the flow decoder needs flow_root (data.flow_root): the folder vidzoo-extract-flow wrote")
        self.flow_root = Path(flow_root)
        self.video_root = Path(video_root) if video_root else None
        self._meta: dict[str, dict[str, Any]] = {}

    def flow_dir(self, path: str | Path) -> Path:
        """The flow directory of video ``path``."""
        try:
            return storage.flow_dir_for(path, self.flow_root, self.video_root)
        except storage.FlowStorageError as exc:
            raise VideoDecodeError(str(path), str(exc)) from None

    def meta(self, path: str | Path) -> dict[str, Any]:
        """``meta.json`` of the video, or a minimal one counted from the files (third-party flow)."""
        key = str(path)
        if key not in self._meta:
            d = self.flow_dir(path)
            try:
                meta = storage.read_meta(d)
            except storage.FlowStorageError as exc:
                raise VideoDecodeError(key, str(exc)) from None
            if meta is None:
                pairs = storage.count_flow_files(d)
                if pairs == 0:
                    raise VideoDecodeError(
                        key, f"no flow in {d}; run vidzoo-extract-flow on the videos (flow_root={self.flow_root})"
                    )
                meta = {"num_pairs": pairs, "num_frames": pairs + 1, "fps": 0.0}
            self._meta[key] = meta
        return self._meta[key]

    def fps(self, path: str | Path) -> float:
        return float(self.meta(path).get("fps", 0.0))

    @staticmethod
    def _check(path: str | Path, indices: Sequence[int], count: int, what: str) -> list[int]:
        idx = [int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < count]
        if bad:
            raise VideoDecodeError(str(path), f"{what} index {bad[0]} out of range 0..{count - 1}")
        return idx


@register_decoder("flow")
class FlowStackDecoder(_FlowDirReader):
    """Reads de-quantised flow fields: ``decode(path, indices) -> float32 (L, H, W, 2)`` pixel displacements.

    ``bound`` overrides the quantisation bound stored in ``meta.json`` (needed only for flow
    extracted by other tools, which has no ``meta.json``; default 20).
    """

    def __init__(self, flow_root: str | Path, video_root: str | Path | None = None, bound: float | None = None) -> None:
        super().__init__(flow_root, video_root)
        self.bound = bound

    def num_frames(self, path: str | Path) -> int:
        """Number of flow fields (frame pairs) of the video."""
        return int(self.meta(path)["num_pairs"])

    def decode(self, path: str | Path, indices: Sequence[int]) -> np.ndarray:
        meta = self.meta(path)
        bound = self.bound if self.bound is not None else float(meta.get("bound", storage.DEFAULT_BOUND))
        idx = self._check(path, indices, int(meta["num_pairs"]), "flow")
        d = self.flow_dir(path)
        cache: dict[int, np.ndarray] = {}
        try:
            for i in idx:
                if i not in cache:
                    cache[i] = storage.read_flow(d, i + 1, bound)
        except storage.FlowStorageError as exc:
            raise VideoDecodeError(str(path), str(exc)) from None
        return np.stack([cache[i] for i in idx])


@register_decoder("flow_frames")
class FlowFrameDecoder(_FlowDirReader):
    """Reads the RGB frames stored next to the flow (``--dump-rgb``): ``decode -> uint8 (T, H, W, 3)``."""

    def num_frames(self, path: str | Path) -> int:
        return int(self.meta(path)["num_frames"])

    def has_frames(self, path: str | Path) -> bool:
        """Whether RGB frames were dumped for this video."""
        return (self.flow_dir(path) / storage.frame_name("img", 1)).is_file()

    def decode(self, path: str | Path, indices: Sequence[int]) -> np.ndarray:
        idx = self._check(path, indices, self.num_frames(path), "frame")
        d = self.flow_dir(path)
        cache: dict[int, np.ndarray] = {}
        try:
            for i in idx:
                if i not in cache:
                    cache[i] = storage.read_rgb(d, i + 1)
        except storage.FlowStorageError as exc:
            raise VideoDecodeError(str(path), str(exc)) from None
        return np.stack([cache[i] for i in idx])
