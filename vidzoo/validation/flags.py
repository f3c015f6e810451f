"""Flags of the dataset tools (``vidzoo-extract-flow``, ``vidzoo-prepare-dataset``), checked after argparse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError
from vidzoo.validation.rules import NON_NEGATIVE_INT, POSITIVE_INT, int_at_least, is_int, number_in


def _optional(rule: tuple[Callable[[Any], bool], str]) -> tuple[Callable[[Any], bool], str]:
    ok, allowed = rule
    return (lambda v: v is None or ok(v)), f"{allowed} (or left out)"


_JPEG_QUALITY = ((lambda v: is_int(v) and 1 <= v <= 100), "an integer from 1 to 100")

#: ``vidzoo-extract-flow`` flags (argparse dest -> rule).
FLOW_FLAG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "quality": _JPEG_QUALITY,
    "resize": _optional(int_at_least(8)),
    "bound": number_in(0, low_open=True),
    "workers": NON_NEGATIVE_INT,
}

#: ``vidzoo-prepare-dataset`` flags (argparse dest -> rule).
PREPARE_FLAG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "quality": _JPEG_QUALITY,
    "short_side": NON_NEGATIVE_INT,
    "workers": POSITIVE_INT,
    "list": NON_NEGATIVE_INT,
    "split": ((lambda v: all(is_int(x) and x >= 1 for x in v)), "split numbers >= 1"),
}


def check_flags(args: Any, rules: dict[str, tuple[Callable[[Any], bool], str]]) -> None:
    """Check parsed argparse flags (``args.<dest>``) against ``rules``; the message names the flag."""
    for dest, (ok, allowed) in rules.items():
        value = getattr(args, dest)
        if not ok(value):
            raise ConfigValueError(f"--{dest.replace('_', '-')} {value} is out of range: it must be {allowed}")


def _need_dir(flag: str, path: str | Path, what: str) -> None:
    if not Path(path).expanduser().is_dir():
        raise ConfigValueError(f"{flag} {path} is not a directory; give {what}")


def _not_a_file(flag: str, path: str | Path | None) -> None:
    if path and Path(path).expanduser().is_file():
        raise ConfigValueError(f"{flag} {path} is a file; give a directory (it is created if missing)")


def check_flow_args(args: Any) -> None:
    """``vidzoo-extract-flow``: flag ranges, an existing video folder, a flow root that is not a file."""
    check_flags(args, FLOW_FLAG_RULES)
    _need_dir("video_root", args.video_root, "the folder that holds the videos")
    _not_a_file("--flow-root", args.flow_root)
    if args.list_file and not Path(args.list_file).expanduser().is_file():
        raise ConfigValueError(f"--list {args.list_file} does not exist; give a list file (one video per line)")


def check_prepare_args(args: Any) -> None:
    """``vidzoo-prepare-dataset``: flag ranges, an existing dataset root, output paths of the right kind."""
    check_flags(args, PREPARE_FLAG_RULES)
    _need_dir("--root", args.root, "the dataset folder (as data.root)")
    if args.frames:
        frames = Path(args.frames) if Path(args.frames).is_absolute() else Path(args.root) / args.frames
        _not_a_file("--frames", frames)
    if args.cache and Path(args.cache).expanduser().is_dir():
        raise ConfigValueError(f"--cache {args.cache} is a directory; give the index file's path (e.g. index.json)")
