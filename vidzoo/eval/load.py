"""Pair ground truth with predictions into ``Sequence``s from files or folders.

Accepted layouts (``gt`` / ``pred``):

* MOTChallenge folders: ``gt/<seq>/gt/gt.txt`` (with ``gt/<seq>/seqinfo.ini`` giving ``seqLength``) and
  ``pred/<seq>.txt``;
* flat folders of text files: ``gt/<seq>.txt`` and ``pred/<seq>.txt``;
* two MOTChallenge text files (one sequence, named after the gt file);
* vidzoo JSON dumps (``*.json``) on either side.

A sequence in gt without predictions is an error that says how to score it as "no output" (an empty
file); predictions for a sequence the gt lacks are an error too.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from vidzoo.eval.errors import EvalInputError
from vidzoo.eval.motchallenge import PRESETS, preprocess
from vidzoo.eval.readers import read_json, read_mot
from vidzoo.eval.tracks import Sequence, Tracks


def _seqinfo_length(folder: Path) -> int | None:
    ini = folder / "seqinfo.ini"
    if not ini.is_file():
        return None
    cfg = configparser.ConfigParser()
    cfg.read(ini)
    try:
        return int(cfg["Sequence"]["seqLength"])
    except (KeyError, ValueError):
        raise EvalInputError(f"{ini}: no integer [Sequence] seqLength; add it or remove the file") from None


def _read_side(path: Path, is_gt: bool, drop_ignored: bool = True
               ) -> tuple[dict[str, Tracks], dict[str, int], dict[str, str]]:
    """name -> Tracks, name -> num_frames (where known), name -> the file it came from."""
    side = "gt" if is_gt else "pred"
    if not path.exists():
        raise EvalInputError(f"{side}={path}: no such file or folder")
    if path.is_file() and path.suffix == ".json":
        tracks, lengths = read_json(path, is_gt)
        return tracks, lengths, {k: str(path) for k in tracks}
    if path.is_file():
        return {path.stem: read_mot(path, is_gt, drop_ignored)}, {}, {path.stem: str(path)}
    tracks, lengths, files = {}, {}, {}
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and (p / "gt" / "gt.txt").is_file()):
        tracks[sub.name] = read_mot(sub / "gt" / "gt.txt", is_gt, drop_ignored)
        files[sub.name] = str(sub / "gt" / "gt.txt")
        length = _seqinfo_length(sub)
        if length is not None:
            lengths[sub.name] = length
    for f in sorted(path.glob("*.txt")):
        tracks[f.stem] = read_mot(f, is_gt, drop_ignored)
        files[f.stem] = str(f)
    if not tracks:
        raise EvalInputError(f"{side}={path}: no sequences found; expected <seq>.txt files, <seq>/gt/gt.txt "
                             "folders or a .json dump")
    return tracks, lengths, files


def load_sequences(gt: str | Path, pred: str | Path, preset: str = "none") -> list[Sequence]:
    """Read both sides and pair them by sequence name (sorted); ``preset`` (mot17, mot20) applies
    MOTChallenge's distractor preprocessing (vidzoo.eval.motchallenge)."""
    if preset not in PRESETS:
        raise EvalInputError(f"preset={preset!r}; choose one of {', '.join(PRESETS)}")
    gt_tracks, lengths, gt_files = _read_side(Path(gt), True, drop_ignored=preset == "none")
    pr_tracks, pr_lengths, pr_files = _read_side(Path(pred), False)
    if Path(gt).is_file() and Path(pred).is_file() and len(gt_tracks) == len(pr_tracks) == 1:
        pr_tracks = {next(iter(gt_tracks)): next(iter(pr_tracks.values()))}  # two files: one sequence
        pr_files = {next(iter(gt_tracks)): str(pred)}
    for name in gt_tracks:
        if name not in pr_tracks:
            hint = f"{Path(pred) / (name + '.txt')}" if Path(pred).is_dir() else f"sequence {name!r} in {pred}"
            raise EvalInputError(f"pred={pred}: no predictions for sequence {name!r} (from {gt_files[name]}); "
                                 f"add {hint} (empty to score it as no output) or remove it from gt")
    extra = sorted(set(pr_tracks) - set(gt_tracks))
    if extra:
        raise EvalInputError(f"{pr_files[extra[0]]}: predictions for sequence {extra[0]!r}, which gt={gt} does not "
                             "have; remove the file or add its ground truth")
    out = []
    for name in sorted(gt_tracks):
        g, p = gt_tracks[name], pr_tracks[name]
        seen = int(max(g.frames.max(initial=-1), p.frames.max(initial=-1))) + 1
        n = lengths.get(name, pr_lengths.get(name, seen))
        if seen > n:
            late = pr_files[name] if p.frames.max(initial=-1) >= n else gt_files[name]
            raise EvalInputError(f"{late}: frame {seen} is past the sequence length {n} of {name!r}; "
                                 "fix the frame numbers or the length (seqinfo.ini seqLength / num_frames)")
        out.append(preprocess(Sequence(name, g, p, n), preset))
    return out

