"""Index a dataset once: probe every video's header and packets, cache the results, summarise the problems.

* :func:`probe_video` reads one video's container header and demuxes its packets (no full decode) to get
  duration, fps, frame count, resolution and codec, and to tell ``ok`` from ``missing``, ``empty`` (0 bytes),
  ``zero_length`` (no frames), ``unreadable`` (cannot open / first frame does not decode) and ``truncated``
  (the stream ends well before the count its header promises, as a cut-off download does).
* :func:`index_videos` probes many videos with a process pool behind a tqdm bar (rate, ETA) and keeps the
  results in a JSON cache keyed by path; an entry is reused until the file's size or mtime changes.
* :func:`format_report` summarises an index for people.

Frame extraction is :mod:`vidzoo.data.frame_extraction`; the command line is :mod:`vidzoo.data.prepare`.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import av
from tqdm import tqdm

from vidzoo.data.decoding._common import TRUNCATION_TOLERANCE, is_truncated
from vidzoo.files import atomic_write_json

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_VERSION",
    "PROBLEM_STATUSES",
    "IndexReport",
    "VideoInfo",
    "format_report",
    "index_videos",
    "pool_map",
    "probe_video",
    "read_index",
]

CACHE_VERSION = 1
DEFAULT_CACHE_NAME = "vidzoo_index.json"
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


def pool_map(fn, items: Sequence, workers: int, desc: str, unit: str, progress: bool) -> Iterable:
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
    for info in pool_map(probe_video, todo, workers, "indexing", "video", progress):
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
