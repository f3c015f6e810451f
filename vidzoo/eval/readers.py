"""Readers for tracking/detection files: MOTChallenge text and the vidzoo JSON dump.

MOTChallenge text (one box per line, frames 1-based, sorted by frame)::

    frame,id,x,y,w,h,conf,class,visibility      # gt: conf 0 marks a box to ignore (dropped)
    frame,id,x,y,w,h,score,-1,-1,-1             # tracker output

Classes are MOTChallenge's, 1-based (1 = pedestrian); a missing class column, -1 or 0 reads as 1, so
tracker files, which carry no class, meet the pedestrians of the ground truth.

vidzoo JSON dump (``write_json`` writes it; frames 0-based; ``box_format`` "xyxy" or "xywh")::

    {"format": "vidzoo-tracks", "box_format": "xyxy",
     "sequences": {"MOT17-02": {"num_frames": 600,
                                "boxes": [[frame, id, x1, y1, x2, y2, score, class], ...]}}}

Every reader checks its input and raises ``EvalInputError`` naming the file and line: frames out of
order, an id twice in one frame, a negative width or height, NaN or inf, a short or non-numeric row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vidzoo.eval.boxes import xywh_to_xyxy
from vidzoo.eval.errors import EvalInputError
from vidzoo.eval.tracks import Tracks

JSON_FORMAT = "vidzoo-tracks"


def validate_rows(rows: np.ndarray, where: list[str], is_gt: bool) -> None:
    """Rows ``(N, 8)``: frame, id, x, y, w, h, score, class (box already as x, y, w, h).

    ``where[i]`` names row i ("file:line") for the error message.
    """
    if len(rows) == 0:
        return
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        raise EvalInputError(f"{where[np.argmax(bad)]}: NaN or inf in a box row; every value must be a finite number")
    bad = (rows[:, 4] < 0) | (rows[:, 5] < 0)
    if bad.any():
        raise EvalInputError(f"{where[np.argmax(bad)]}: negative box width or height; boxes are x, y, w >= 0, h >= 0")
    bad = rows[:, 0] < 0
    if bad.any():
        raise EvalInputError(f"{where[np.argmax(bad)]}: negative frame index")
    bad = np.diff(rows[:, 0]) < 0
    if bad.any():
        raise EvalInputError(f"{where[np.argmax(bad) + 1]}: frame {int(rows[np.argmax(bad) + 1, 0])} comes after "
                             f"frame {int(rows[np.argmax(bad), 0])}; sort the file by frame (e.g. sort -t, -k1,1n)")
    key = rows[:, 0] * (np.abs(rows[:, 1]).max() * 2 + 3) + rows[:, 1]
    order = np.argsort(key, kind="stable")
    dup = np.flatnonzero(key[order][1:] == key[order][:-1])
    if len(dup):
        i = order[dup[0] + 1]
        side = "ground-truth" if is_gt else "track"
        raise EvalInputError(f"{where[i]}: {side} id {int(rows[i, 1])} appears twice in frame {int(rows[i, 0])}; "
                             "each id may have one box per frame")


def _tracks(rows: np.ndarray, box_format: str = "xywh") -> Tracks:
    boxes = xywh_to_xyxy(rows[:, 2:6]) if box_format == "xywh" else rows[:, 2:6]
    return Tracks.build(rows[:, 0], rows[:, 1], boxes, rows[:, 6], rows[:, 7])


def read_mot(path: str | Path, is_gt: bool, drop_ignored: bool = True) -> Tracks:
    """A MOTChallenge text file (comma- or space-separated) -> Tracks with 0-based frames.

    Ground-truth rows with conf 0 are dropped unless ``drop_ignored`` is false; then the conf flag is
    kept in ``scores`` (for ``vidzoo.eval.motchallenge.preprocess``).
    """
    path = Path(path)
    rows, where = [], []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.replace(",", " ").split()
        try:
            vals = [float(v) for v in parts[:8]]
        except ValueError:
            raise EvalInputError(f"{path}:{n}: not a number in {line.strip()!r}; "
                                 "MOTChallenge rows are frame,id,x,y,w,h,conf,class,...") from None
        if len(vals) < 6:
            raise EvalInputError(f"{path}:{n}: {len(vals)} values; MOTChallenge rows need at least frame,id,x,y,w,h")
        vals += [1.0, 1.0][len(vals) - 6:] if len(vals) < 8 else []
        rows.append(vals)
        where.append(f"{path}:{n}")
    arr = np.array(rows, float).reshape(-1, 8)
    validate_rows(arr, where, is_gt)
    if len(arr) and arr[:, 0].min() < 1:
        i = int(np.argmin(arr[:, 0]))
        raise EvalInputError(f"{where[i]}: frame {int(arr[i, 0])}; MOTChallenge frames start at 1")
    arr[:, 0] -= 1
    arr[:, 7] = np.where(arr[:, 7] >= 1, arr[:, 7], 1)  # tracker files carry -1 (no class)
    if is_gt and drop_ignored:
        arr = arr[arr[:, 6] != 0]  # conf 0: a box the benchmark ignores
        arr[:, 6] = 1.0
    return _tracks(arr)


def read_json(path: str | Path, is_gt: bool) -> tuple[dict[str, Tracks], dict[str, int]]:
    """A vidzoo JSON dump -> (sequence name -> Tracks, sequence name -> num_frames where given)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise EvalInputError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or not isinstance(doc.get("sequences"), dict):
        raise EvalInputError(f"{path}: not a vidzoo JSON dump; expected {{\"format\": \"{JSON_FORMAT}\", "
                             "\"sequences\": {name: {\"boxes\": [[frame, id, x1, y1, x2, y2, score, class], ...]}}}")
    box_format = doc.get("box_format", "xyxy")
    if box_format not in ("xyxy", "xywh"):
        raise EvalInputError(f"{path}: box_format {box_format!r}; use \"xyxy\" or \"xywh\"")
    tracks, lengths = {}, {}
    for name, seq in doc["sequences"].items():
        boxes = seq.get("boxes", []) if isinstance(seq, dict) else None
        where = [f"{path}: sequences.{name}.boxes[{i}]" for i in range(len(boxes or []))]
        try:
            arr = np.array(boxes, float).reshape(-1, 8)
        except (ValueError, TypeError):
            raise EvalInputError(f"{path}: sequences.{name}.boxes must be rows of 8 numbers "
                                 "[frame, id, x1, y1, x2, y2, score, class]") from None
        if box_format == "xyxy":
            arr[:, 4:6] -= arr[:, 2:4]
        validate_rows(arr, where, is_gt)
        tracks[name] = _tracks(arr)
        if "num_frames" in seq:
            lengths[name] = int(seq["num_frames"])
    return tracks, lengths


def write_json(path: str | Path, sequences: dict[str, Tracks], num_frames: dict[str, int] | None = None) -> None:
    """Write Tracks as a vidzoo JSON dump (xyxy boxes, 0-based frames); refuses to replace an existing file."""
    path = Path(path)
    if path.exists():
        raise EvalInputError(f"{path} exists; choose another path (it is not overwritten)")
    out = {}
    for name, t in sequences.items():
        rows = np.column_stack([t.frames, t.ids, t.boxes, t.scores, t.classes]).tolist()
        out[name] = {"boxes": [[int(r[0]), int(r[1]), *r[2:7], int(r[7])] for r in rows]}
        if num_frames and name in num_frames:
            out[name]["num_frames"] = int(num_frames[name])
    path.write_text(json.dumps({"format": JSON_FORMAT, "box_format": "xyxy", "sequences": out}))
