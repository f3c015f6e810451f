"""The split-file and annotation parsers of each supported layout, and the record they produce.

Each reader returns ``(records, classes)`` for one subset; :func:`vidzoo.data.annotations.load_split` picks
the reader and the folders for a ``data.source`` and checks the result against the disk.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vidzoo.data.split_checks import SplitFileError, inside

__all__ = [
    "VIDEO_EXTENSIONS",
    "VideoRecord",
    "find_annotation",
    "read_annotation_file",
    "read_class_index",
    "read_folder_tree",
    "read_hmdb_split",
    "read_ucf_style_split",
]

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video (or a time window of one).

    ``path`` is absolute; ``start``/``end`` are seconds (None = whole video).
    """

    path: str
    label: int
    start: float | None = None
    end: float | None = None


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


def find_annotation(root: Path, subset: str, split: int) -> Path:
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
    path = Path(annotation) if annotation is not None else find_annotation(root, subset, split)
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
            other_rows = _read_annotation_rows(find_annotation(root, other, split)) if annotation is None else []
        except SplitFileError:
            other_rows = []
        if other_rows and all(r[1].lstrip("-").isdigit() for r in other_rows):
            classes = [str(i) for i in range(max(len(classes), max(int(r[1]) for r in other_rows) + 1))]
    else:
        names = {r[1] for r in rows}
        if annotation is None:
            for other in ("train", "test"):
                try:
                    names |= {r[1] for r in _read_annotation_rows(find_annotation(root, other, split))}
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
