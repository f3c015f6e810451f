"""OpenCV (``cv2.VideoCapture``, FFmpeg inside) decoding backend.

Decodes only the frames a clip needs: ``grab()`` steps over near frames without colour conversion, and a jump of
more than ``seek_threshold`` frames seeks (OpenCV seeks to the keyframe before the target and decodes forward,
so the frame is exact). OpenCV seeks by time, so a variable-frame-rate stream is read without seeking. Frame count
and rate come from the shared probe (``_common``), not from ``CAP_PROP_FRAME_COUNT``, which is a duration x rate
estimate for containers without a count. One decoding thread per capture, which suits DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidzoo.data.decoding import VideoDecodeError, register_decoder
from vidzoo.data.decoding._common import (
    SeekingDecoder,
    check_file,
    gather,
    wanted_indices,
)

__all__ = ["OpenCVDecoder"]


@register_decoder("opencv")
class OpenCVDecoder(SeekingDecoder):
    """Decode frames by index with OpenCV.

    Args:
        threads: FFmpeg decoding threads per capture (``CAP_PROP_N_THREADS``).
        seek_threshold: seek when the next wanted frame is more than this many frames ahead.
        truncation_tolerance: a stream ending more than this many frames (or 10% of the header's count) before
            the header's count is truncated (``VideoDecodeError``); smaller shortfalls are padded.
    """

    def _open(self, path: str) -> cv2.VideoCapture:
        check_file(path)
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, self.threads])
        if not cap.isOpened():
            raise VideoDecodeError(path, "OpenCV cannot open it (corrupt file or unsupported codec)")
        return cap

    def decode(self, path: str, indices: Sequence[int]) -> np.ndarray:
        """Frames at ``indices`` as uint8 ``(len(indices), H, W, 3)`` RGB.

        Indices past the real end of the stream get the last frame (headers can overcount a little); a stream
        that ends far before its header's count is reported as truncated.
        """
        path = str(path)
        idx, wanted = wanted_indices(path, indices)
        info = self._meta.get(path)
        got, end = self._read(path, wanted, seek=info.cfr)
        if len(got) < len(wanted):  # the stream ended early: find its real end by reading sequentially
            if end is None:
                got, end = self._read(path, wanted, seek=False)
            if end is not None:
                self._meta.reached_end(path, end, self.truncation_tolerance)
                if not got:
                    got, _ = self._read(path, np.array([end - 1]), seek=False)
        return gather(path, idx, got)

    def _read(self, path: str, wanted: np.ndarray, seek: bool) -> tuple[dict[int, np.ndarray], int | None]:
        """Decode the sorted unique ``wanted`` frames; also returns the stream's frame count if the end was
        reached without seeking (``None`` otherwise)."""
        cap = self._open(path)
        got: dict[int, np.ndarray] = {}
        seeked = False
        try:
            pos = 0
            for w in wanted:
                w = int(w)
                if seek and w - pos > self.seek_threshold:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, w)
                    pos, seeked = w, True
                while pos < w and cap.grab():
                    pos += 1
                ok, bgr = cap.read() if pos == w else (False, None)
                if not ok:
                    return got, None if seeked else pos
                got[w] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                pos = w + 1
        finally:
            cap.release()
        return got, None
