"""JPEG frame-folder backend ("rawframes"): one folder per video holding ``img_00001.jpg``, ``img_00002.jpg``, ...

``tools/prepare_dataset.py --frames DIR`` writes such folders (plus ``meta.json`` with the source's fps and
frame count) and ``load_split(..., frames_dir=DIR)`` points records at them; ``data.decoder=frames`` looks in
``<data.root>/rawframes`` unless ``+data.extra.frames_dir=DIR`` says otherwise. Reading a clip opens only its
frames: no seeking, and decoding a small JPEG is cheaper than decoding a GOP, at the price of disk space.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import CachedMetadataDecoder, MetadataCache, StreamInfo, take_clamped, wanted_indices

__all__ = ["DEFAULT_FRAMES_DIR", "FRAME_TEMPLATE", "META_FILE", "FramesDecoder"]

DEFAULT_FRAMES_DIR = "rawframes"  # where data.decoder=frames looks under data.root (prepare_dataset --frames rawframes)

FRAME_TEMPLATE = "img_{:05d}.jpg"  # 1-based, as MMAction2's rawframes and TSN's extraction scripts name them
META_FILE = "meta.json"


@register_decoder("frames")
class FramesDecoder(CachedMetadataDecoder):
    """Read frames by index from a folder of JPEGs (``path`` is the folder).

    Args:
        template: file name of frame ``k`` (1-based) as a ``str.format`` pattern.
        default_fps: frame rate reported when the folder has no ``meta.json``.
    """

    def __init__(self, template: str = FRAME_TEMPLATE, default_fps: float = 25.0) -> None:
        self.template = template
        self.default_fps = float(default_fps)
        self._meta = MetadataCache(self._probe)

    def _probe(self, path: str) -> StreamInfo:
        folder = Path(path)
        if folder.is_file():
            raise VideoDecodeError(path, "is a video file, not a frame folder: point records at extracted frames "
                                         "(+data.extra.frames_dir=rawframes) or use a video decoder")
        if not folder.is_dir():
            raise VideoDecodeError(path, "frame folder not found (extract it: tools/prepare_dataset.py --frames DIR)")
        meta_file = folder / META_FILE
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text())
                return StreamInfo(int(meta["num_frames"]), float(meta.get("fps") or self.default_fps), False, True)
            except (ValueError, KeyError, TypeError) as err:
                raise VideoDecodeError(path, f"bad {META_FILE} ({err}); delete the folder and re-extract") from err
        prefix, suffix = self.template.split("{", 1)[0], self.template.rsplit("}", 1)[-1]
        count = sum(1 for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(suffix))
        return StreamInfo(count, self.default_fps, False, True)

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB; indices past the end get the last frame."""
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        count = self._meta.get(path).frames
        uniq = np.unique(np.minimum(wanted, count - 1))
        frames = []
        for i in uniq:
            file = os.path.join(path, self.template.format(int(i) + 1))
            bgr = cv2.imread(file, cv2.IMREAD_COLOR)
            if bgr is None:
                raise VideoDecodeError(path, f"cannot read frame {os.path.basename(file)} (missing or corrupt JPEG)")
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return take_clamped(np.stack(frames), uniq, idx, count)
