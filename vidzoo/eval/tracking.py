"""Tracking evaluation over many sequences: per-sequence metrics, combined, and per class.

    report = evaluate_tracking(sequences, metrics=("hota", "clear", "identity"), per_class=True, workers=4)
    report["combined"]["hota"]["HOTA"]       # (19,) over alpha; report["combined"]["clear"]["MOTA"]

Class-agnostic scores pool every box whatever its class (as MOTChallenge does); ``per_class`` adds each
class on its own and their class- and detection-averaged combinations (TrackEval's conventions).
``ca_hota`` is HOTA with the similarity of two boxes of different classes set to 0 (class-aware HOTA).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

import numpy as np

from vidzoo.eval import clear, hota, identity
from vidzoo.eval.pairs import prepare
from vidzoo.eval.tracks import Sequence
from vidzoo.pools import pool_map

# name -> (per-sequence function of FramePairs, combine, fields summed over classes, class-aware similarity)
METRICS: dict[str, tuple[Callable, Callable, tuple[str, ...], bool]] = {
    "hota": (hota.hota_sequence, hota.hota_combine, hota.COUNT_FIELDS, False),
    "clear": (clear.clear_sequence, clear.clear_combine, tuple(k for k in clear.SUMMED if k != "MOTP_sum"), False),
    "identity": (identity.identity_sequence, identity.identity_combine, identity.SUMMED, False),
    "ca_hota": (hota.hota_sequence, hota.hota_combine, hota.COUNT_FIELDS, True),
}


def check_metrics(metrics: Iterable[str]) -> tuple[str, ...]:
    """The metric names, validated (ValueError naming the unknown one and the choices)."""
    metrics = tuple(metrics)
    for m in metrics:
        if m not in METRICS:
            raise ValueError(f"unknown tracking metric {m!r}; choose from {', '.join(METRICS)}")
    return metrics


def score_sequence(seq: Sequence, metrics: tuple[str, ...], convention: str = "trackeval") -> dict:
    """Every requested metric of one sequence (all classes pooled)."""
    out, cache = {}, {}
    for name in metrics:
        fn, _, _, class_aware = METRICS[name]
        if class_aware not in cache:
            cache[class_aware] = prepare(seq, class_aware=class_aware)
        fp = cache[class_aware]
        out[name] = fn(fp, convention) if name == "clear" else fn(fp)
    return out


def _score_all(seq: Sequence, metrics: tuple[str, ...], convention: str, classes: list[int]) -> tuple[dict, dict]:
    agnostic = score_sequence(seq, metrics, convention)
    plain = tuple(m for m in metrics if not METRICS[m][3])
    return agnostic, {c: score_sequence(seq.for_class(c), plain, convention) for c in classes}


def combine(results: list[dict], metrics: Iterable[str]) -> dict:
    """Per-sequence results combined into one result per metric."""
    return {m: METRICS[m][1]([r[m] for r in results]) for m in metrics}


def class_averaged(per_class: dict, metric: str) -> dict:
    """Counts summed over classes, every score the plain mean of the classes' scores."""
    summed = METRICS[metric][2]
    rows = [r[metric] for r in per_class.values()]
    return {k: (sum(r[k] for r in rows) if k in summed else np.mean([r[k] for r in rows], axis=0)) for k in rows[0]}


def evaluate_tracking(sequences: list[Sequence], metrics: Iterable[str] = ("hota", "clear", "identity"),
                      per_class: bool = False, convention: str = "trackeval", workers: int = 1,
                      progress: bool = False) -> dict:
    """Score every sequence (in ``workers`` processes) and combine; see the module docstring for the keys."""
    metrics = check_metrics(metrics)
    if not sequences:
        raise ValueError("no sequences to evaluate")
    classes = sorted({c for s in sequences for c in s.classes()}) if per_class else []
    job = partial(_score_all, metrics=metrics, convention=convention, classes=classes)
    results = list(_progress(pool_map(job, sequences, workers), len(sequences), progress))
    report: dict = {"per_sequence": {s.name: r[0] for s, r in zip(sequences, results)},
                    "combined": combine([r[0] for r in results], metrics)}
    if per_class and classes:
        plain = [m for m in metrics if not METRICS[m][3]]
        report["per_class"] = {c: combine([r[1][c] for r in results], plain) for c in classes}
        report["class_averaged"] = {m: class_averaged(report["per_class"], m) for m in plain}
        report["det_averaged"] = {m: METRICS[m][1]([report["per_class"][c][m] for c in classes]) for m in plain}
    return report


def _progress(it: Iterable, total: int, enabled: bool) -> Iterable:
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, unit="seq", desc="sequences")
