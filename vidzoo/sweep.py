"""Hydra multirun support: sweep values to validate, one run folder per job, a summary table at the end.

``vidzoo-train -m trainer.seed=0,1 model=c3d_small,r3d_small`` runs one job per combination. Each job trains into
its own folder ``<hydra.sweep.dir>/<job.num>_<swept key=value ...>``; after the last job
:class:`SweepSummary` prints one row per job (the overrides that differ, video_top1, clip_top1, run
folder) and writes the same table to ``summary.md`` (and ``summary.json``) in the sweep folder. It reads
no file a job wrote: the rows come from what each job returned, seen by the callback when the job runs in
this process (Hydra's basic launcher), and by the ``SummarySweeper`` of ``hydra_plugins/vidzoo_sweeper``
when a launcher runs it in another process and pickles its ``JobReturn`` back (``hydra/launcher=local``,
``slurm``, ``submitit_local``, ``submitit_slurm``; configs/hydra/launcher/). The swept keys reach such job
processes through the ``VIDZOO_SWEPT_KEYS`` environment variable.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

#: Keys swept by the current ``vidzoo-train -m`` call; they name the job folders (see :func:`remember_swept_keys`).
SWEPT_KEYS: set[str] = set()
SWEPT_KEYS_ENV = "VIDZOO_SWEPT_KEYS"
#: Error messages of the jobs of the last sweep that stopped on bad input (set by :class:`SweepSummary`).
FAILED_JOBS: list[str] = []
SUMMARY_FILE = "summary.md"
#: Sweeps with at most this many jobs have every job's config checked before the first one starts.
MAX_CHECKED_JOBS = 64
_SLUG_MAX = 96


def split_sweeps(overrides: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """``(base, sweeps)``: ``base`` holds every override with a sweep replaced by its first value;
    ``sweeps`` maps each swept key (as typed, e.g. ``+model.kwargs.width``) to all its values as overrides."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    base: list[str] = []
    sweeps: dict[str, list[str]] = {}
    for ov in parsed:
        if not ov.is_sweep_override():
            base.append(ov.input_line)
            continue
        key = ov.get_key_element()
        values = [f"{key}={v}" for v in ov.sweep_string_iterator()]
        sweeps[key] = values
        base.append(values[0])
    return base, sweeps


def sweep_variants(overrides: list[str]) -> tuple[list[list[str]], bool]:
    """``(variants, complete)``: the override lists of every job when a sweep has at most
    ``MAX_CHECKED_JOBS`` of them (``complete``); otherwise lists that use each value of each sweep once
    (the first values together, then one list per further value), so a long sweep stays cheap to check."""
    base, sweeps = split_sweeps(overrides)
    slots = {values[0]: key for key, values in sweeps.items()}
    if math.prod(len(v) for v in sweeps.values()) <= MAX_CHECKED_JOBS:
        jobs = [dict(zip(sweeps, combo)) for combo in itertools.product(*sweeps.values())]
        return [[job[slots[o]] if o in slots else o for o in base] for job in jobs], True
    variants = [base]
    for values in sweeps.values():
        variants += [[v if o == values[0] else o for o in base] for v in values[1:]]
    return variants, False


def remember_swept_keys(keys: Any) -> None:
    """Record the swept keys here and in ``VIDZOO_SWEPT_KEYS``, which job processes started by a launcher inherit."""
    SWEPT_KEYS.update(keys)
    os.environ[SWEPT_KEYS_ENV] = json.dumps(sorted(SWEPT_KEYS))


def job_dirname(task_overrides: Any) -> str:
    """OmegaConf resolver ``vidzoo_job_dirname``: the swept ``key=value`` pairs of one job, safe as a folder name."""
    items = [str(o) for o in task_overrides]
    keys = SWEPT_KEYS or set(json.loads(os.environ.get(SWEPT_KEYS_ENV, "[]")))
    swept = [o for o in items if o.split("=", 1)[0] in keys] or items
    slug = re.sub(r"[^A-Za-z0-9._,=+-]+", "_", ",".join(swept))
    return slug[:_SLUG_MAX] or "job"


def register_resolvers() -> None:
    """Make ``${vidzoo_job_dirname:...}`` (used by ``hydra.sweep.subdir`` in configs/config.yaml) resolvable."""
    if not OmegaConf.has_resolver("vidzoo_job_dirname"):
        OmegaConf.register_new_resolver("vidzoo_job_dirname", job_dirname)


register_resolvers()  # on import: a job process of an out-of-process launcher imports this module when it unpickles


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def raw_output_dir(cfg: DictConfig) -> str:
    """``trainer.output_dir`` as written (interpolations unresolved), to tell the default from a chosen one."""
    return str(cfg.trainer._get_node("output_dir")._value())


def use_job_dir(cfg: DictConfig, default_output_dir: str) -> None:
    """In a multirun job, train into the job's own folder unless ``trainer.output_dir`` was chosen."""
    if raw_output_dir(cfg) == default_output_dir:
        cfg.trainer.output_dir = HydraConfig.get().runtime.output_dir


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: the overrides that differ between jobs, video_top1, clip_top1, run folder."""
    common = set.intersection(*(set(r["overrides"]) for r in rows)) if rows else set()
    lines = ["| job | overrides | video_top1 | clip_top1 | run |", "|---:|---|---:|---:|---|"]
    for r in rows:
        varying = " ".join(o for o in r["overrides"] if o not in common) or "(none)"
        scores = [f"{r[k]:.4f}" if isinstance(r[k], (int, float)) else "failed" for k in ("video_top1", "clip_top1")]
        lines.append(f"| {r['job']} | {varying} | {scores[0]} | {scores[1]} | {r['run']} |")
    if common:
        lines.append(f"\nEvery job: {' '.join(sorted(common))}")
    return "\n".join(lines)


def job_row(hydra_node: DictConfig, job_return: JobReturn) -> dict[str, Any]:
    """One row of the table from a job's ``hydra`` config node and its ``JobReturn``."""
    done = job_return.status == JobStatus.COMPLETED and isinstance(job_return.return_value, dict)
    result = job_return.return_value if done else {}
    return {"job": int(hydra_node.job.num), "overrides": list(job_return.overrides or []),
            "video_top1": result.get("video_top1"), "clip_top1": result.get("clip_top1"),
            "run": result.get("run", str(hydra_node.runtime.output_dir)), "error": result.get("error")}


class SweepSummary(Callback):
    """Hydra callback: collects each job's result, and after the multirun prints the table and writes it to
    ``<sweep dir>/summary.md`` (rows also as ``summary.json``). A job's result is what the task returned:
    ``{"run", "video_top1", "clip_top1"}``, or ``{"run", "error"}`` for a job that stopped on bad input; the
    errors are printed one line each (``vidzoo-train: error: job N: ...``) and kept in :data:`FAILED_JOBS`."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def add(self, hydra_node: DictConfig, job_return: JobReturn) -> None:
        """Record one job's row (a job seen twice, by the callback and by the sweeper, keeps one row)."""
        row = job_row(hydra_node, job_return)
        self.rows[row["job"]] = row

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN:
            self.add(config.hydra, job_return)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = [self.rows[k] for k in sorted(self.rows)]
        FAILED_JOBS[:] = [r["error"] for r in rows if r["error"]]
        for r in rows:
            if r["error"]:
                print(f"vidzoo-train: error: job {r['job']}: {r['error']}", file=sys.stderr)
        table = format_table(rows)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / SUMMARY_FILE).write_text(table + "\n")
        (sweep_dir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
        print(f"[vidzoo] sweep of {len(rows)} jobs -> {sweep_dir / SUMMARY_FILE}\n{table}")

