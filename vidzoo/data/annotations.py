"""Annotation records and split-file parsers: where each video is and what it shows.

One entry point, :func:`load_split`, reads every supported layout exactly as its authors published it:

* ``ucf101``: ``ucfTrainTestlist/classInd.txt`` (``1 ApplyEyeMakeup``, 1-based), ``trainlist0{1,2,3}.txt``
  (``Class/v_Class_gXX_cYY.avi label``), ``testlist0{1,2,3}.txt`` (no label), videos under ``UCF-101/Class/``.
  Labels come from the class *folder*, never from the file name: the folder ``HandstandPushups`` holds files
  named ``v_HandStandPushups_*.avi``. Class order is ``classInd.txt`` order.
* ``hmdb51``: ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` with lines ``video.avi 0|1|2``
  (1 = train, 2 = test, 0 = unused in that split), videos under ``<class>/``. HMDB51 ships no class index,
  so class order is the sorted class names (Python string order; all 51 official names are lower case,
  so this is alphabetical order, label 0 = ``brush_hair``).
* ``folder``: ``root/<Class>/*.mp4`` (classes sorted); ``root/train/<Class>/`` and ``root/test/<Class>/`` when
  those folders exist, otherwise a stable hash of each file's path puts ``test_fraction`` of them in test.
* ``csv``: ``root/<subset>.csv`` (``path,label[,start,end]``, header optional) or ``root/<subset>.json``
  (a list of ``{"path", "label", "start", "end"}``); a label is a class name or an integer.
* ``synthetic``: the UCF-style layout written by :mod:`vidzoo.data.synthetic` (``root/splits``, ``root/videos``).

Videos missing from disk raise :class:`MissingVideosError` listing them, unless ``skip_missing=True``,
which drops them and reports the count in :attr:`SplitResult.missing` (and the log). The per-layout parsers
and :class:`VideoRecord` live in :mod:`vidzoo.data.split_formats`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidzoo.data.split_checks import SplitFileError, check_duplicates, video_key
from vidzoo.data.split_formats import (
    VIDEO_EXTENSIONS,
    VideoRecord,
    find_annotation,
    read_annotation_file,
    read_class_index,
    read_folder_tree,
    read_hmdb_split,
    read_ucf_style_split,
)

__all__ = [
    "SOURCES",
    "VIDEO_EXTENSIONS",
    "MissingVideosError",
    "SplitFileError",
    "SplitResult",
    "VideoRecord",
    "check_videos",
    "frame_folder_for",
    "load_split",
    "read_annotation_file",
    "read_class_index",
    "read_folder_tree",
    "read_hmdb_split",
    "read_ucf_style_split",
]

log = logging.getLogger(__name__)

SOURCES = ("ucf101", "hmdb51", "folder", "csv", "synthetic")
# Folders searched, in order, when split_dir / video_dir are not given (relative to root).
UCF101_SPLIT_DIRS = ("ucfTrainTestlist", "splits", "annotations", ".")
UCF101_VIDEO_DIRS = ("UCF-101", "UCF101", "videos", ".")
HMDB51_SPLIT_DIRS = ("testTrainMulti_7030_splits", "splits", "annotations", ".")
HMDB51_VIDEO_DIRS = ("hmdb51_org", "HMDB51", "videos", ".")
MISSING_SHOWN = 10


class MissingVideosError(FileNotFoundError):
    """Videos listed by a split are not on disk; the message lists them and names ``data.skip_missing``."""

    def __init__(self, missing: Sequence[str], total: int, where: str) -> None:
        self.missing = list(missing)
        shown = ", ".join(self.missing[:MISSING_SHOWN])
        more = f" (+{len(self.missing) - MISSING_SHOWN} more)" if len(self.missing) > MISSING_SHOWN else ""
        super().__init__(
            f"{len(self.missing)} of {total} videos listed in {where} are missing: {shown}{more}; "
            "fix data.root (or the video folder), or set data.skip_missing=true to skip them"
        )


@dataclass
class SplitResult:
    """What :func:`load_split` found: unpacks as ``records, classes = load_split(...)``.

    ``missing`` lists the videos that were listed but not on disk (only non-empty with ``skip_missing``);
    ``video_root`` is the folder the records' relative paths hang from (where frame folders mirror them);
    ``keys`` identify each record's video (``vidzoo.data.split_checks.video_key``), one per record.
    """

    records: list[VideoRecord]
    classes: list[str]
    missing: list[str] = field(default_factory=list)
    video_root: str = ""
    keys: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator:
        return iter((self.records, self.classes))

    def __len__(self) -> int:
        return 2


def _pick_dir(root: Path, given: str | Path | None, candidates: Sequence[str], what: str, probe) -> Path:
    """``given`` (relative to root or absolute), else the first candidate folder for which ``probe`` is true."""
    if given is not None:
        p = Path(given)
        return p if p.is_absolute() else root / p
    for c in candidates:
        p = root / c
        if p.is_dir() and probe(p):
            return p
    raise SplitFileError(
        f"cannot find the {what} under {root}: looked for {', '.join(candidates)}; set data.root "
        f"(or set +data.extra.{what.replace(' ', '_')}=...)"
    )


def _resolve_case(path: Path, listings: dict[Path, dict[str, str]]) -> Path | None:
    """Find ``path`` ignoring case in its file name (copies of UCF101 that renamed ``HandStand`` files)."""
    parent = path.parent
    if parent not in listings:
        listings[parent] = {n.lower(): n for n in os.listdir(parent)} if parent.is_dir() else {}
    name = listings[parent].get(path.name.lower())
    return parent / name if name is not None else None


def check_videos(
    records: Sequence[VideoRecord], where: str, skip_missing: bool = False, frames_dir: Path | None = None
) -> tuple[list[VideoRecord], list[str]]:
    """Split ``records`` into those on disk and the missing paths; raise unless ``skip_missing``.

    A file whose name differs only in case is accepted (the record then points at the real name).
    With ``frames_dir`` set, the records are frame folders and must be directories.
    """
    present, missing = [], []
    listings: dict[Path, dict[str, str]] = {}
    for r in records:
        p = Path(r.path)
        if (p.is_dir() if frames_dir is not None else p.is_file()):
            present.append(r)
            continue
        alt = _resolve_case(p, listings)
        if alt is not None and (alt.is_dir() if frames_dir is not None else alt.is_file()):
            present.append(VideoRecord(str(alt), r.label, r.start, r.end))
        else:
            missing.append(r.path)
    if missing and not skip_missing:
        raise MissingVideosError(missing, len(records), where)
    if missing:
        log.warning("skipped %d of %d videos missing from disk (%s); first: %s", len(missing), len(records), where,
                    missing[0])
    return present, missing


def load_split(
    source: str,
    root: str | Path,
    split: int = 1,
    subset: str = "train",
    *,
    split_dir: str | Path | None = None,
    video_dir: str | Path | None = None,
    frames_dir: str | Path | None = None,
    annotation: str | Path | None = None,
    test_fraction: float = 0.2,
    skip_missing: bool = False,
    check_files: bool = True,
    allow_overlap: bool = False,
) -> SplitResult:
    """Load one subset of one split: ``records, classes = load_split("ucf101", root, 1, "train")``.

    ``subset`` is ``train`` or ``test`` (``val`` means ``test``: these datasets publish no third subset).
    ``split_dir``/``video_dir`` override where split files and videos are (relative to ``root`` or absolute;
    defaults: the official folder names, then ``splits``/``videos``, then ``root`` itself).
    ``frames_dir`` switches records to JPEG frame folders: ``<frames_dir>/<video path relative to the video
    folder, without extension>/img_00001.jpg`` as written by ``prepare_dataset --frames``.
    Missing videos raise :class:`MissingVideosError`, or are skipped and listed in ``.missing`` with
    ``skip_missing=True``; ``check_files=False`` trusts the split files without touching the disk.
    A video listed twice raises :class:`~vidzoo.data.split_checks.SplitLeakError` (a warning with ``allow_overlap``).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; choose one of {', '.join(SOURCES)}")
    subset = {"val": "test", "valid": "test", "validation": "test"}.get(subset, subset)
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test' (or 'val'), got {subset!r}")
    split = int(split)
    if root is None or str(root).strip() == "":
        raise SplitFileError(f"data.root is empty: set data.root=/path/to/{source} (the folder holding the dataset)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SplitFileError(f"dataset root not found: {root} (set data.root to the folder holding the dataset)")

    if source == "ucf101":
        sdir = _pick_dir(root, split_dir, UCF101_SPLIT_DIRS, "split dir", lambda p: (p / "classInd.txt").is_file())
        vdir = _pick_dir(root, video_dir, UCF101_VIDEO_DIRS, "video dir", lambda p: True)
        records, classes = read_ucf_style_split(sdir, vdir, split, subset)
        where = str(sdir / f"{subset}list0{split}.txt")
    elif source == "synthetic":
        sdir = Path(split_dir) if split_dir is not None else root / "splits"
        vdir = Path(video_dir) if video_dir is not None else root / "videos"
        sdir, vdir = (d if d.is_absolute() else root / d for d in (sdir, vdir))
        records, classes = read_ucf_style_split(sdir, vdir, split, subset)
        where = str(sdir / f"{subset}list0{split}.txt")
    elif source == "hmdb51":
        suffix = f"_test_split{split}.txt"
        sdir = _pick_dir(root, split_dir, HMDB51_SPLIT_DIRS, "split dir",
                         lambda p: any(f.endswith(suffix) for f in os.listdir(p)))
        vdir = _pick_dir(root, video_dir, HMDB51_VIDEO_DIRS, "video dir", lambda p: True)
        records, classes = read_hmdb_split(sdir, vdir, split, subset)
        where = f"{sdir}/*{suffix}"
    elif source == "folder":
        vdir = Path(video_dir) if video_dir is not None else root
        vdir = vdir if vdir.is_absolute() else root / vdir
        records, classes = read_folder_tree(vdir, subset, test_fraction)
        where = str(vdir)
    else:
        records, classes = read_annotation_file(root, subset, split, annotation)
        vdir = root
        where = str(annotation) if annotation is not None else str(find_annotation(root, subset, split))

    fdir = None
    if frames_dir is not None:
        fdir = Path(frames_dir)
        fdir = fdir if fdir.is_absolute() else root / fdir
        records = [VideoRecord(str(frame_folder_for(r.path, vdir, fdir)), r.label, r.start, r.end) for r in records]
    missing: list[str] = []
    if check_files:
        records, missing = check_videos(records, where, skip_missing, fdir)
    keys = [video_key(r.path, fdir if fdir is not None else vdir) for r in records]
    check_duplicates([(k, r.start, r.end) for k, r in zip(keys, records)], where, allow_overlap)
    return SplitResult(records, classes, missing, str(vdir), keys)


def frame_folder_for(video_path: str | Path, video_root: str | Path, frames_root: str | Path) -> Path:
    """Where ``prepare_dataset`` puts a video's JPEG frames: the relative path mirrored, extension dropped."""
    video_path, video_root = Path(video_path), Path(video_root)
    try:
        rel = video_path.relative_to(video_root)
    except ValueError:
        rel = Path(video_path.name)
    return Path(frames_root) / rel.with_suffix("")
