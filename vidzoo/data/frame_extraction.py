"""JPEG frame folders (rawframes layout) from videos, for ``data.decoder=frames``.

:func:`extract_frames` writes ``img_00001.jpg ...`` resized to a short side; it writes to a temporary folder and
renames it when complete, so an interrupted run never leaves a folder that looks done, and a rerun skips every
finished video. :func:`extract_all` does it for a dataset with a process pool.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2

from vidzoo.data.annotations import frame_folder_for
from vidzoo.data.decoding import VideoDecodeError
from vidzoo.data.decoding._common import probe_video as probe_stream
from vidzoo.data.decoding.frames import FRAME_TEMPLATE, META_FILE
from vidzoo.data.indexing import pool_map

log = logging.getLogger(__name__)

__all__ = ["ExtractReport", "extract_all", "extract_frames"]


def _short_side_size(w: int, h: int, short_side: int) -> tuple[int, int]:
    if not short_side or min(w, h) == short_side:
        return w, h
    scale = short_side / min(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def extract_frames(video: str | Path, out_dir: str | Path, short_side: int = 0, quality: int = 90) -> int:
    """Write every frame of ``video`` as ``out_dir/img_00001.jpg ...`` (short side resized to ``short_side``;
    0 keeps the size) plus ``meta.json``; returns the frame count. Skips an existing ``out_dir`` (finished).

    Frames go to a temporary sibling folder renamed to ``out_dir`` at the end, so ``out_dir`` exists only when
    complete. Raises ``ValueError`` naming the video when it cannot be decoded.
    """
    video, out_dir = str(video), Path(out_dir)
    if out_dir.is_dir():
        return json.loads((out_dir / META_FILE).read_text())["num_frames"] if (out_dir / META_FILE).is_file() else 0
    try:  # the frame rate every decoder reports (a VFR file's average), and no folder for an audio-only file
        fps = probe_stream(video).fps
    except VideoDecodeError as err:
        raise ValueError(f"cannot extract frames from {err}") from err
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stale_prefix = f".{out_dir.name}.tmp-"
    for name in os.listdir(out_dir.parent):  # leftovers of an interrupted run (listdir: names may hold [ ] ! *)
        if name.startswith(stale_prefix):
            shutil.rmtree(out_dir.parent / name, ignore_errors=True)
    tmp = out_dir.parent / f"{stale_prefix}{os.getpid()}"
    tmp.mkdir()
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    n, size = 0, (0, 0)
    try:
        try:
            with av.open(video, metadata_errors="ignore") as container:
                stream = container.streams.video[0]
                stream.codec_context.thread_count = 1
                for frame in container.decode(stream):
                    size = _short_side_size(frame.width, frame.height, short_side)
                    rgb = frame.reformat(format="rgb24", threads=1).to_ndarray()
                    if size != (frame.width, frame.height):
                        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                    n += 1
                    if not cv2.imwrite(str(tmp / FRAME_TEMPLATE.format(n)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                       params):
                        raise OSError(f"cannot write {tmp / FRAME_TEMPLATE.format(n)} (disk full?)")
        except (av.FFmpegError, EOFError, IndexError, UnicodeDecodeError) as err:
            if n == 0:
                raise ValueError(f"{video}: cannot extract frames ({err.__class__.__name__}: {err})") from err
            log.warning("%s: decoding stopped after %d frames (%s); keeping them", video, n, err)
        if n == 0:
            raise ValueError(f"{video}: no decodable frames to extract")
        meta = {"num_frames": n, "fps": fps, "width": size[0], "height": size[1], "source": video}
        (tmp / META_FILE).write_text(json.dumps(meta))
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return n


@dataclass
class ExtractReport:
    """Result of :func:`extract_all`: how many folders were written, already there, or failed (with reasons)."""

    written: int = 0
    skipped: int = 0
    frames: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _extract_job(job: tuple[str, str, int, int]) -> tuple[str, int, str]:
    video, out, short_side, quality = job
    try:
        return video, extract_frames(video, out, short_side, quality), ""
    except (ValueError, OSError) as err:
        return video, 0, str(err)


def extract_all(
    videos: Sequence[str],
    video_root: str | Path,
    frames_root: str | Path,
    short_side: int = 0,
    quality: int = 90,
    workers: int = 1,
    progress: bool = True,
) -> ExtractReport:
    """Extract frame folders for ``videos`` into ``frames_root`` (mirroring their path under ``video_root``).

    Finished folders are skipped, so an interrupted run resumes where it stopped.
    """
    t0 = time.perf_counter()
    report = ExtractReport()
    jobs = []
    for v in dict.fromkeys(videos):
        out = frame_folder_for(v, video_root, frames_root)
        if out.is_dir():
            report.skipped += 1
        else:
            jobs.append((v, str(out), int(short_side), int(quality)))
    for video, n, err in pool_map(_extract_job, jobs, workers, "extracting", "video", progress):
        if err:
            report.failed.append(err)
        else:
            report.written += 1
            report.frames += n
    report.seconds = time.perf_counter() - t0
    return report
