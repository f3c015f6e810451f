"""Honesty checks on what a split lists: paths stay inside the video folder, no video is listed twice,
train and test are disjoint, and a checkpoint is not evaluated on videos it was trained on.

A video is identified by its *key*: its path relative to the video folder, lower case, without a video
extension (so a frame folder and its video agree, and so do copies of UCF101 that renamed file-name case).
Checkpoints store the SHA-256 of each training key (:func:`key_digests`), never the paths themselves.
Duplicates and overlaps raise :class:`SplitLeakError` unless ``allow`` (``data.allow_overlap=true``)
downgrades them to a warning; a path leaving the folder raises :class:`SplitFileError` (the split-file error
that ``vidzoo.data.annotations`` raises for every malformed line).
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vidzoo.errors import CheckpointError, ConfigValueError

log = logging.getLogger(__name__)

_VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")
_ALLOW = "or set data.allow_overlap=true to go on with a warning"
#: How checkpoints describe ``train_videos.digests``.
KEY_DESCRIPTION = "sha256 of each training video's path relative to the video folder, lower case, extension dropped"


class SplitFileError(FileNotFoundError):
    """A split/annotation file is missing or malformed; the message names the file and the fix."""


class SplitLeakError(ConfigValueError):
    """A split lists a video twice, in both train and test, or a test video the checkpoint was trained on."""


def inside(folder: str | Path, listed: str, where: str) -> Path:
    """``folder / listed`` when it stays inside ``folder`` (lexically: symlinked datasets keep working),
    else a :class:`SplitFileError` naming the line."""
    base = os.path.normpath(os.path.abspath(folder))
    full = os.path.normpath(os.path.join(base, listed))
    if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
        raise SplitFileError(
            f"{where}: path {listed!r} leaves the video folder {base}; a split names videos inside it "
            "(fix the line, or point data.root / +data.extra.video_dir at the folder that holds them)"
        )
    return Path(folder) / listed


def video_key(path: str | Path, root: str | Path) -> str:
    """The key of ``path`` under ``root`` (see module docstring), e.g. ``applyeyemakeup/v_applyeyemakeup_g08_c01``."""
    rel = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()
    if rel.lower().endswith(_VIDEO_SUFFIXES):
        rel = rel.rsplit(".", 1)[0]
    return rel.lower()


def key_digests(keys: Sequence[str]) -> list[str]:
    """Sorted SHA-256 hex digests of ``keys`` (what a checkpoint's ``train_videos`` stores)."""
    return sorted({hashlib.sha256(k.encode("utf-8")).hexdigest() for k in keys})


def _refuse_or_warn(message: str, allow: bool) -> None:
    if not allow:
        raise SplitLeakError(f"{message}; {_ALLOW}")
    warnings.warn(message + " (data.allow_overlap=true: going on)", stacklevel=3)
    log.warning("%s (data.allow_overlap=true: going on)", message)


def check_duplicates(entries: Sequence[tuple[str, object, object]], where: str, allow: bool) -> None:
    """Refuse an entry ``(key, start, end)`` listed twice: it would be counted twice in the metrics."""
    repeated = [e for e, n in Counter(entries).items() if n > 1]
    if repeated:
        _refuse_or_warn(f"{where} lists {len(repeated)} video(s) more than once (e.g. {repeated[0][0]}), which "
                        "counts them twice; remove the repeated lines", allow)


def check_disjoint(train_keys: Sequence[str], test_keys: Sequence[str], where: str, allow: bool) -> None:
    """Refuse a video that is in both the train and the test list of one split."""
    shared = sorted(set(train_keys) & set(test_keys))
    if shared:
        _refuse_or_warn(f"{len(shared)} video(s) are in both the train and the test list of {where} (e.g. "
                        f"{shared[0]}); the test score would be inflated - fix the split", allow)


def check_not_trained_on(train_digests: object, test_keys: Sequence[str], meta_file: str, where: str,
                         allow: bool) -> None:
    """Refuse to evaluate on test videos whose key digests are among the checkpoint's training digests.

    ``train_digests`` is the checkpoint's ``train_videos.digests`` (``None`` for checkpoints that predate it:
    a warning says the check could not be made).
    """
    if train_digests is None:
        warnings.warn(f"{meta_file} has no train_videos: cannot check that {where} holds no training video",
                      stacklevel=2)
        return
    if not isinstance(train_digests, list) or not all(isinstance(d, str) for d in train_digests):
        raise CheckpointError(f"{meta_file}: field 'train_videos.digests' must be a list of hex strings")
    seen = set(train_digests)
    leaked = [k for k in test_keys if hashlib.sha256(k.encode("utf-8")).hexdigest() in seen]
    if leaked:
        _refuse_or_warn(f"{len(leaked)} of {len(test_keys)} test videos of {where} are in the training set of "
                        f"{meta_file} (train_videos; e.g. {leaked[0]}): evaluate it on the split it was trained on",
                        allow)
