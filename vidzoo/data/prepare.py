"""``vidzoo-prepare-dataset``: index a dataset's videos once and optionally extract JPEG frame folders."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from vidzoo.arguments import OneLineArgumentParser
from vidzoo.data.annotations import SOURCES, SplitFileError, load_split
from vidzoo.data.frame_extraction import extract_all
from vidzoo.data.indexing import DEFAULT_CACHE_NAME, format_report, index_videos

__all__ = ["PROG", "build_parser", "main", "run"]

PROG = "vidzoo-prepare-dataset"


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
