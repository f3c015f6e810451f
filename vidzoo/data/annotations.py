"""Annotation records and split-file parsers: where each video is and what it shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video (or a time window of one).

    ``path`` is absolute; ``start``/``end`` are seconds (None = whole video).
    """

    path: str
    label: int
    start: float | None = None
    end: float | None = None


class SplitFileError(FileNotFoundError):
    """A split/annotation file is missing or malformed; the message names the file and the fix."""


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise SplitFileError(
            f"split file not found: {path} (check data.root / data.split_dir, or regenerate the dataset)"
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
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise SplitFileError(f"{list_file}:{n}: label {parts[1]} disagrees with class folder {folder!r}")
        records.append(VideoRecord(str(video_root / rel), label))
    return records, classes
