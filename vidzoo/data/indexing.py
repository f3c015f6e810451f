"""Index a dataset once (and optionally extract JPEG frame folders): the logic behind ``tools/prepare_dataset.py``.

* :func:`probe_video` reads one video's container header and demuxes its packets (no full decode) to get
  duration, fps, frame count, resolution and codec, and to tell ``ok`` from ``missing``, ``empty`` (0 bytes),
  ``zero_length`` (no frames), ``unreadable`` (cannot open / first frame does not decode) and ``truncated``
  (the stream ends well before the count its header promises, as a cut-off download does).
* :func:`index_videos` probes many videos with a process pool behind a tqdm bar (rate, ETA) and keeps the
  results in a JSON cache keyed by path; an entry is reused until the file's size or mtime changes.
* :func:`extract_frames` writes ``img_00001.jpg ...`` (rawframes layout) resized to a short side; it writes to a
  temporary folder and renames it when complete, so an interrupted run never leaves a folder that looks done,
  and a rerun skips every finished video.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import av
import cv2
import numpy as np
from tqdm import tqdm

from vidzoo.arguments import OneLineArgumentParser
from vidzoo.data.annotations import SOURCES, SplitFileError, frame_folder_for, load_split
from vidzoo.data.decoding import VideoDecodeError
from vidzoo.data.decoding._common import TRUNCATION_TOLERANCE, is_truncated
from vidzoo.data.decoding._common import probe_video as probe_stream
from vidzoo.data.decoding.frames import FRAME_TEMPLATE, META_FILE
from vidzoo.files import atomic_write_json

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_VERSION",
    "PROBLEM_STATUSES",
    "ExtractReport",
    "IndexReport",
    "VideoInfo",
    "extract_all",
    "extract_frames",
    "index_videos",
    "main",
    "probe_video",
    "read_index",
]

CACHE_VERSION = 1
DEFAULT_CACHE_NAME = "vidzoo_index.json"
PROG = "vidzoo-prepare-dataset"
PROBLEM_STATUSES = ("missing", "empty", "zero_length", "unreadable", "truncated")


@dataclass
class VideoInfo:
    """What :func:`probe_video` learnt about one file. ``status`` is ``ok`` or one of ``PROBLEM_STATUSES``."""

    path: str
    status: str
    reason: str = ""
    size: int = 0
    mtime_ns: int = 0
    num_frames: int = 0
    fps: float = 0.0
    duration: float = 0.0
    width: int = 0
    height: int = 0
    codec: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def probe_video(path: str) -> VideoInfo:
    """Probe one video without decoding it all: header, packet count, and a decode of the first frame."""
    stat = _stat(path)
    if stat is None:
        return VideoInfo(path, "missing", "file not found")
    size, mtime = stat
    info = VideoInfo(path, "ok", size=size, mtime_ns=mtime)
    if size == 0:
        info.status, info.reason = "empty", "empty file (0 bytes)"
        return info
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, OSError) as err:
        info.status, info.reason = "unreadable", f"cannot open ({err.__class__.__name__}: {err})"
        return info
    with container:
        if not container.streams.video:
            info.status, info.reason = "unreadable", "no video stream"
            return info
        stream = container.streams.video[0]
        ctx = stream.codec_context
        ctx.thread_count = 1
        info.codec = ctx.name or ""
        info.width, info.height = int(ctx.width or 0), int(ctx.height or 0)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        info.fps = float(rate) if rate else 0.0
        header = int(stream.frames or 0)
        packets, first_ok, error = 0, False, ""
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                packets += 1
                if not first_ok:
                    first_ok = bool(ctx.decode(packet))
        except (av.FFmpegError, EOFError) as err:
            error = f"{err.__class__.__name__}: {err}"
        if not first_ok and packets:
            try:  # codecs with delay return the first frame only when flushed
                first_ok = bool(ctx.decode(None))
            except (av.FFmpegError, EOFError) as err:
                error = error or f"{err.__class__.__name__}: {err}"
        info.num_frames = packets
        if info.fps > 0:
            info.duration = packets / info.fps
        elif stream.duration is not None and stream.time_base is not None:
            info.duration = float(stream.duration * stream.time_base)
    if header and is_truncated(header, packets, TRUNCATION_TOLERANCE):
        info.status, info.reason = "truncated", f"the header reports {header} frames but the file holds {packets}"
    elif packets == 0:
        info.status, info.reason = "zero_length", "the video stream has no frames" + (f" ({error})" if error else "")
    elif not first_ok:
        info.status, info.reason = "unreadable", f"the first frame does not decode ({error or 'no picture'})"
    elif error:
        info.status, info.reason = "truncated", f"reading stopped after {packets} frames ({error})"
    return info


# ----------------------------------------------------------------------------------------------- the index


@dataclass
class IndexReport:
    """The result of :func:`index_videos`: every video's info, how many came from the cache, where it was saved."""

    videos: list[VideoInfo]
    cached: int = 0
    probed: int = 0
    seconds: float = 0.0
    cache_file: str = ""

    def by_status(self) -> dict[str, list[VideoInfo]]:
        out: dict[str, list[VideoInfo]] = {s: [] for s in ("ok", *PROBLEM_STATUSES)}
        for v in self.videos:
            out.setdefault(v.status, []).append(v)
        return out

    @property
    def problems(self) -> list[VideoInfo]:
        return [v for v in self.videos if not v.ok]


def _cache_key(path: str, base: Path) -> str:
    try:
        return Path(path).resolve().relative_to(base).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def _load_cache(cache_file: Path) -> dict[str, dict]:
    if not cache_file.is_file():
        return {}
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("ignoring unreadable index cache %s (%s); it will be rebuilt", cache_file, err)
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return data.get("videos", {})


def _pool_map(fn, items: Sequence, workers: int, desc: str, unit: str, progress: bool) -> Iterable:
    """Yield ``fn(item)`` for every item (unordered) from ``workers`` processes, behind a tqdm bar."""
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress or not items, dynamic_ncols=True,
               smoothing=0.1)
    try:
        if workers <= 1 or len(items) <= 1:
            for it in items:
                yield fn(it)
                bar.update()
            return
        chunk = max(1, min(16, len(items) // (workers * 8)))
        with get_context().Pool(workers) as pool:
            for out in pool.imap_unordered(fn, items, chunksize=chunk):
                yield out
                bar.update()
    finally:
        bar.close()


def index_videos(
    paths: Sequence[str],
    cache_file: str | Path | None = None,
    workers: int = 1,
    progress: bool = True,
) -> IndexReport:
    """Probe ``paths`` (in order, duplicates dropped) reusing ``cache_file`` entries whose size and mtime match.

    The cache is rewritten (atomically) with every probed video; keys are paths relative to the cache's folder.
    """
    t0 = time.perf_counter()
    paths = list(dict.fromkeys(str(p) for p in paths))
    cache_file = Path(cache_file) if cache_file is not None else None
    base = cache_file.parent.resolve() if cache_file is not None else Path("/")
    cache = _load_cache(cache_file) if cache_file is not None else {}
    infos: dict[str, VideoInfo] = {}
    todo = []
    for p in paths:
        stat = _stat(p)
        entry = cache.get(_cache_key(p, base))
        if stat is None:
            infos[p] = VideoInfo(p, "missing", "file not found")
        elif entry is not None and (entry.get("size"), entry.get("mtime_ns")) == stat:
            infos[p] = VideoInfo(**{**entry, "path": p})
        else:
            todo.append(p)
    cached = len(paths) - len(todo) - sum(1 for v in infos.values() if v.status == "missing")
    for info in _pool_map(probe_video, todo, workers, "indexing", "video", progress):
        infos[info.path] = info
    report = IndexReport([infos[p] for p in paths], cached=cached, probed=len(todo))
    if cache_file is not None:
        for v in report.videos:
            if v.status != "missing":
                cache[_cache_key(v.path, base)] = {k: val for k, val in asdict(v).items() if k != "path"}
        atomic_write_json(cache_file, {"version": CACHE_VERSION, "videos": cache}, indent=1)
        report.cache_file = str(cache_file)
    report.seconds = time.perf_counter() - t0
    return report


def read_index(cache_file: str | Path) -> dict[str, VideoInfo]:
    """The cached index as ``absolute path -> VideoInfo`` (e.g. frame counts without opening every video).

    Entries for files that changed since they were probed are left out.
    """
    cache_file = Path(cache_file)
    base = cache_file.parent.resolve()
    out = {}
    for key, entry in _load_cache(cache_file).items():
        path = str(base / key) if not os.path.isabs(key) else key
        if _stat(path) == (entry.get("size"), entry.get("mtime_ns")):
            out[path] = VideoInfo(**{**entry, "path": path})
    return out


# ----------------------------------------------------------------------------------------- frame folders


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
    for video, n, err in _pool_map(_extract_job, jobs, workers, "extracting", "video", progress):
        if err:
            report.failed.append(err)
        else:
            report.written += 1
            report.frames += n
    report.seconds = time.perf_counter() - t0
    return report


# ----------------------------------------------------------------------------------------------------- CLI


def format_report(report: IndexReport, max_listed: int = 20) -> str:
    """A human summary: counts per status, the problem videos, and the spread of fps/size/codec/duration."""
    groups = report.by_status()
    lines = [
        f"indexed {len(report.videos)} videos ({report.cached} from the cache, {report.probed} probed) "
        f"in {report.seconds:.1f} s",
        "  ".join(f"{s}: {len(groups.get(s, []))}" for s in ("ok", *PROBLEM_STATUSES)),
    ]
    ok = groups["ok"]
    if ok:
        frames = [v.num_frames for v in ok]
        dur = [v.duration for v in ok]
        common = lambda vals: ", ".join(f"{k} ({c})" for k, c in Counter(vals).most_common(3))  # noqa: E731
        lines += [
            f"frames: min {min(frames)}, median {int(statistics.median(frames))}, max {max(frames)}; "
            f"duration: {sum(dur) / 3600:.2f} h total, median {statistics.median(dur):.1f} s",
            f"fps: {common(round(v.fps, 2) for v in ok)}; size: {common(f'{v.width}x{v.height}' for v in ok)}; "
            f"codec: {common(v.codec for v in ok)}",
        ]
    problems = report.problems
    if problems:
        lines.append(f"problems ({len(problems)}):")
        problems = sorted(problems, key=lambda v: (PROBLEM_STATUSES.index(v.status), v.path))
        lines += [f"  {v.status:<11} {v.path}: {v.reason}" for v in problems[:max_listed]]
        if len(problems) > max_listed:
            lines.append(f"  ... and {len(problems) - max_listed} more (see {report.cache_file or 'the index'})")
    if report.cache_file:
        lines.append(f"index: {report.cache_file}")
    return "\n".join(lines)


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(
        prog=PROG,
        description="Index a video dataset once (duration, fps, frames, size, codec; missing/broken videos), "
        "cache the index, and optionally extract JPEG frame folders.",
    )
    p.add_argument("--source", required=True, choices=SOURCES, help="dataset layout (as data.source)")
    p.add_argument("--root", required=True, help="dataset root (as data.root)")
    p.add_argument("--split", type=int, nargs="+", default=[1], help="split numbers whose videos to index")
    p.add_argument("--split-dir", help="split-file folder, relative to root (default: the official name)")
    p.add_argument("--video-dir", help="video folder, relative to root (default: the official name)")
    p.add_argument("--cache", help=f"index file (default: <root>/{DEFAULT_CACHE_NAME})")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    p.add_argument("--frames", metavar="DIR", help="also extract JPEG frame folders into DIR (relative to root)")
    p.add_argument("--short-side", type=int, default=0, help="resize extracted frames to this short side (0: keep)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality of extracted frames")
    p.add_argument("--list", type=int, default=20, help="how many problem videos to list")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when any video has a problem")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and :func:`run`; ``vidzoo-prepare-dataset`` (vidzoo.cli) also range-checks the flags first."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Index (and optionally extract frames) as the parsed flags say; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = Path(args.root).expanduser()
    videos: list[str] = []
    video_root = ""
    try:
        for split in args.split:
            for subset in ("train", "test"):
                result = load_split(args.source, root, split, subset, split_dir=args.split_dir,
                                    video_dir=args.video_dir, check_files=False)
                videos += [r.path for r in result.records]
                video_root = result.video_root
    except (SplitFileError, ValueError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    videos = list(dict.fromkeys(videos))
    cache = Path(args.cache) if args.cache else root / DEFAULT_CACHE_NAME
    report = index_videos(videos, cache, workers=args.workers, progress=not args.no_progress)
    print(format_report(report, args.list))
    if args.frames:
        frames_root = Path(args.frames)
        frames_root = frames_root if frames_root.is_absolute() else root / frames_root
        good = [v.path for v in report.videos if v.ok]
        ex = extract_all(good, video_root, frames_root, args.short_side, args.quality, args.workers,
                         not args.no_progress)
        print(f"frames: {ex.written} folders written ({ex.frames} frames), {ex.skipped} already done, "
              f"{len(ex.failed)} failed, in {ex.seconds:.1f} s -> {frames_root}")
        for err in ex.failed[: args.list]:
            print(f"  failed: {err}")
        if ex.failed and args.strict:
            return 1
    return 1 if args.strict and report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
