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
which drops them and reports the count in :attr:`SplitResult.missing` (and the log).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vidzoo.data.split_checks import SplitFileError, check_duplicates, inside, video_key

log = logging.getLogger(__name__)

SOURCES = ("ucf101", "hmdb51", "folder", "csv", "synthetic")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")
# Folders searched, in order, when split_dir / video_dir are not given (relative to root).
UCF101_SPLIT_DIRS = ("ucfTrainTestlist", "splits", "annotations", ".")
UCF101_VIDEO_DIRS = ("UCF-101", "UCF101", "videos", ".")
HMDB51_SPLIT_DIRS = ("testTrainMulti_7030_splits", "splits", "annotations", ".")
HMDB51_VIDEO_DIRS = ("hmdb51_org", "HMDB51", "videos", ".")
MISSING_SHOWN = 10


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video (or a time window of one).

    ``path`` is absolute; ``start``/``end`` are seconds (None = whole video).
    """

    path: str
    label: int
    start: float | None = None
    end: float | None = None


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


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise SplitFileError(
            f"split file not found: {path} (check data.root / +data.extra.split_dir=..., or regenerate the dataset)"
        )
    # Official UCF101 files use CRLF line endings; splitlines() handles both.
    return [ln.strip() for ln in path.read_text(encoding="utf-8", errors="strict").splitlines() if ln.strip()]


def read_class_index(path: str | Path) -> list[str]:
    """Parse a UCF101-style ``classInd.txt`` (``1 ApplyEyeMakeup``) into class names in index order."""
    path = Path(path)
    names: dict[int, str] = {}
    for n, line in enumerate(_read_lines(path), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise SplitFileError(f"{path}:{n}: expected '<index> <ClassName>', got {line!r}")
        names[int(parts[0])] = parts[1]
    expected = list(range(1, len(names) + 1))
    if sorted(names) != expected:
        raise SplitFileError(f"{path}: class indices must be 1..{len(names)} without gaps")
    return [names[i] for i in expected]


def read_ucf_style_split(
    split_dir: str | Path, video_root: str | Path, split: int, subset: str
) -> tuple[list[VideoRecord], list[str]]:
    """Read ``trainlist0{split}.txt`` or ``testlist0{split}.txt`` under ``split_dir``.

    Lines are ``Class/video.avi [label]`` (label 1-based, absent in test lists, where the
    class folder gives it). Returns the records (paths under ``video_root``) and class names.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    split_dir, video_root = Path(split_dir), Path(video_root)
    classes = read_class_index(split_dir / "classInd.txt")
    index = {c: i for i, c in enumerate(classes)}
    list_file = split_dir / f"{subset}list0{split}.txt"
    records = []
    for n, line in enumerate(_read_lines(list_file), 1):
        parts = line.split()
        rel = parts[0]
        folder = rel.split("/")[0]
        if folder not in index:
            raise SplitFileError(f"{list_file}:{n}: class folder {folder!r} is not in classInd.txt")
        label = index[folder]
        if len(parts) > 1 and not parts[1].isdigit():
            raise SplitFileError(f"{list_file}:{n}: expected 'Class/video.avi <1-based label>', got {line!r}")
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise SplitFileError(f"{list_file}:{n}: label {parts[1]} disagrees with class folder {folder!r}")
        records.append(VideoRecord(str(inside(video_root, rel, f"{list_file}:{n}")), label))
    return records, classes


def read_hmdb_split(
    split_dir: str | Path, video_root: str | Path, split: int, subset: str
) -> tuple[list[VideoRecord], list[str]]:
    """Read HMDB51's ``<class>_test_split{split}.txt`` files (``video.avi 0|1|2``; 1 = train, 2 = test).

    Classes are the sorted names found in ``split_dir`` for that split; videos live in ``video_root/<class>/``.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    split_dir, video_root = Path(split_dir), Path(video_root)
    suffix = f"_test_split{split}.txt"
    if not split_dir.is_dir():
        raise SplitFileError(f"HMDB51 split folder not found: {split_dir} (set data.root or +data.extra.split_dir=...)")
    # listdir + endswith, not glob: class and video names may hold glob metacharacters.
    classes = sorted(f[: -len(suffix)] for f in os.listdir(split_dir) if f.endswith(suffix))
    if not classes:
        raise SplitFileError(
            f"no '*{suffix}' files in {split_dir} (HMDB51 split {split}); point +data.extra.split_dir at testTrainMulti_7030_splits"
        )
    wanted = "1" if subset == "train" else "2"
    records = []
    for label, name in enumerate(classes):
        list_file = split_dir / f"{name}{suffix}"
        for n, line in enumerate(_read_lines(list_file), 1):
            parts = line.rsplit(None, 1)  # video names never end in whitespace but may contain odd characters
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise SplitFileError(f"{list_file}:{n}: expected '<video.avi> 0|1|2', got {line!r}")
            if parts[1] == wanted:
                records.append(VideoRecord(str(inside(video_root, f"{name}/{parts[0]}", f"{list_file}:{n}")), label))
    return records, classes


def _list_videos(folder: Path, extensions: Sequence[str]) -> list[Path]:
    exts = tuple(e.lower() for e in extensions)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def _class_dirs(folder: Path) -> list[str]:
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _hash_fraction(text: str) -> float:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big") / 2**64


def read_folder_tree(
    root: str | Path,
    subset: str,
    test_fraction: float = 0.2,
    extensions: Sequence[str] = VIDEO_EXTENSIONS,
) -> tuple[list[VideoRecord], list[str]]:
    """Read a folder-per-class tree ``root/<Class>/**/video.ext`` (classes sorted).

    With ``root/train`` and ``root/test`` (or ``root/val``) present, ``subset`` picks the folder and the class
    list is the sorted union of both. Otherwise every video goes to ``test`` when a stable hash of its path
    relative to root falls below ``test_fraction``, else to ``train`` (adding videos never moves the others).
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    root = Path(root)
    if not root.is_dir():
        raise SplitFileError(f"dataset folder not found: {root} (set data.root to a folder of <Class>/ folders)")
    test_name = next((n for n in ("test", "val") if (root / n).is_dir()), None)
    if (root / "train").is_dir() and test_name:
        subset_root = root / ("train" if subset == "train" else test_name)
        classes = sorted(set(_class_dirs(root / "train")) | set(_class_dirs(root / test_name)))
        chosen = lambda rel: True  # noqa: E731
    else:
        subset_root = root
        classes = _class_dirs(root)
        chosen = lambda rel: (_hash_fraction(rel) < test_fraction) == (subset == "test")  # noqa: E731
    if not classes:
        raise SplitFileError(f"no class folders in {root} (expected {root}/<ClassName>/<video>)")
    records = []
    for label, name in enumerate(classes):
        folder = subset_root / name
        if not folder.is_dir():
            continue
        for p in _list_videos(folder, extensions):
            if chosen(p.relative_to(root).as_posix()):
                records.append(VideoRecord(str(p), label))
    return records, classes


def _parse_time(value: object, where: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except ValueError as e:
        raise SplitFileError(f"{where}: start/end must be seconds, got {value!r}") from e


def _read_annotation_rows(path: Path) -> list[tuple[str, str, object, object, str]]:
    """Rows ``(path, label, start, end, where)`` of a CSV or JSON annotation file."""
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise SplitFileError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(items, list):
            raise SplitFileError(f"{path}: expected a JSON list of {{'path', 'label'}} objects")
        rows = []
        for n, it in enumerate(items):
            if not isinstance(it, dict) or "path" not in it or "label" not in it:
                raise SplitFileError(f"{path}[{n}]: each item needs 'path' and 'label'")
            rows.append((str(it["path"]), str(it["label"]), it.get("start"), it.get("end"), f"{path}[{n}]"))
        return rows
    rows = []
    lines = _read_lines(path)
    for n, parts in enumerate(csv.reader(lines), 1):
        parts = [p.strip() for p in parts]
        if n == 1 and parts[:2] == ["path", "label"]:
            continue
        if len(parts) not in (2, 3, 4):
            raise SplitFileError(f"{path}:{n}: expected 'path,label[,start,end]', got {','.join(parts)!r}")
        parts += [""] * (4 - len(parts))
        rows.append((parts[0], parts[1], parts[2], parts[3], f"{path}:{n}"))
    return rows


def _find_annotation(root: Path, subset: str, split: int) -> Path:
    names = [f"{subset}_split{split}", f"{subset}list0{split}", subset]
    if subset == "test":
        names += [f"val_split{split}", "val"]
    candidates = [root / f"{n}{ext}" for n in names for ext in (".csv", ".json")]
    for c in candidates:
        if c.is_file():
            return c
    raise SplitFileError(
        f"no annotation file for subset {subset!r} in {root}: expected one of "
        f"{', '.join(c.name for c in candidates)} (lines 'path,label[,start,end]')"
    )


def read_annotation_file(
    root: str | Path, subset: str, split: int = 1, annotation: str | Path | None = None
) -> tuple[list[VideoRecord], list[str]]:
    """Read a CSV/JSON annotation (``path,label[,start,end]``; paths relative to ``root`` or absolute).

    Class names come from ``root/classes.txt`` (one per line) when it exists; else integer labels are used
    as they are (names ``"0".."K-1"``), and string labels are mapped through the sorted union of the names
    in the train and test files so both subsets agree.
    """
    root = Path(root)
    path = Path(annotation) if annotation is not None else _find_annotation(root, subset, split)
    if not path.is_absolute() and annotation is not None:
        path = root / path
    if not path.is_file():
        raise SplitFileError(f"annotation file not found: {path} (expected 'path,label[,start,end]' lines)")
    rows = _read_annotation_rows(path)
    classes_file = root / "classes.txt"
    if classes_file.is_file():
        classes = _read_lines(classes_file)
    elif rows and all(r[1].lstrip("-").isdigit() for r in rows):
        classes = [str(i) for i in range(max(int(r[1]) for r in rows) + 1)]
        other = "test" if subset == "train" else "train"
        try:
            other_rows = _read_annotation_rows(_find_annotation(root, other, split)) if annotation is None else []
        except SplitFileError:
            other_rows = []
        if other_rows and all(r[1].lstrip("-").isdigit() for r in other_rows):
            classes = [str(i) for i in range(max(len(classes), max(int(r[1]) for r in other_rows) + 1))]
    else:
        names = {r[1] for r in rows}
        if annotation is None:
            for other in ("train", "test"):
                try:
                    names |= {r[1] for r in _read_annotation_rows(_find_annotation(root, other, split))}
                except SplitFileError:
                    pass
        classes = sorted(names)
    index = {c: i for i, c in enumerate(classes)}
    records = []
    for rel, label, start, end, where in rows:
        if label in index:
            y = index[label]
        elif label.lstrip("-").isdigit() and 0 <= int(label) < len(classes):
            y = int(label)
        else:
            raise SplitFileError(f"{where}: label {label!r} is not a known class (add it to {classes_file})")
        records.append(VideoRecord(str(inside(root, rel, where)), y, _parse_time(start, where), _parse_time(end, where)))
    return records, classes


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
        where = str(annotation) if annotation is not None else str(_find_annotation(root, subset, split))

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
