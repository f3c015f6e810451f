"""CPU runs behind the model card: train each ``*_small`` recipe through ``tools/train.py`` or record a finished run.

Results go to ``results/synthetic_cpu.json`` (one record per model: video top-1, epochs, wall seconds, the exact
command and the date). Used by ``tools/model_card.py --train`` and ``--record``.

The CPU recipe of a small model ``<family>_small`` is its model config (``configs/model/<family>_small.yaml``)
plus, when it exists, its experiment ``configs/experiment/<family>_synthetic.yaml``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from vidzoo.files import atomic_write_json
from vidzoo.models.registry import list_models

REPO = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO / "results" / "synthetic_cpu.json"
RUNS_DIR = Path("runs") / "model_card"
#: Recipes that start from another recipe's trained weights (Baccouche et al.'s two-step training): model ->
#: (its ``model.kwargs`` key, the stage-1 model whose latest recorded run folder it gets).
PRETRAINED_FROM = {"cnn_lstm_small": ("encoder_weights", "cnn_lstm_encoder_small")}


def _model_name_of(config: Path) -> str | None:
    from omegaconf import OmegaConf

    node = OmegaConf.load(config)
    return OmegaConf.select(node, "model.name")


def model_configs() -> dict[str, str]:
    """Registry name -> model config stem, from ``configs/model/*.yaml`` (first config per model)."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "configs" / "model").glob("*.yaml")):
        name = _model_name_of(path)
        if name:
            found.setdefault(name, path.stem)
    return found


def small_models() -> list[str]:
    """Every registered CPU variant (``*_small``)."""
    return [n for n in list_models() if n.endswith("_small")]


def recipe_overrides(name: str) -> list[str]:
    """The Hydra overrides of ``name``'s CPU recipe: its experiment if one exists, else its model config."""
    config = model_configs().get(name)
    if config is None:
        raise FileNotFoundError(f"no configs/model/*.yaml sets model.name: {name}; add one to train it")
    experiment = REPO / "configs" / "experiment" / f"{config.removesuffix('_small')}_synthetic.yaml"
    return [f"experiment={experiment.stem}"] if experiment.exists() else [f"model={config}"]


_EPOCH_LINE = re.compile(r"^\[vidzoo\] epoch (\d+)/(\d+): (.*)$")


def _run_streaming(cmd: list[str], name: str, start: float, log) -> tuple[int, list[str]]:
    """Run ``cmd``, echo each finished epoch with its rate and ETA through ``log``; return (exit code, lines)."""
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = _EPOCH_LINE.match(lines[-1])
            if match:
                done, total = int(match.group(1)), int(match.group(2))
                per_epoch = (time.perf_counter() - start) / done
                log(f"[model_card] {name} epoch {done}/{total} ({per_epoch:.1f} s/epoch, ETA "
                    f"{per_epoch * (total - done):.0f} s): {match.group(3)}")
    return proc.returncode, lines


def train_one(name: str, runs_dir: Path = RUNS_DIR, extra: Sequence[str] = (), log=print) -> dict[str, Any]:
    """Train ``name`` with its CPU recipe through ``tools/train.py`` and return its result record.

    Each call trains into a new folder ``runs_dir/<name>-<date>_<time>``: earlier runs are kept, never replaced.
    """
    out = runs_dir / f"{name}-{_dt.datetime.now():%Y-%m-%d_%H-%M-%S}"
    args = [*recipe_overrides(name), "trainer.progress=false", "trainer.tensorboard=false", f"trainer.output_dir={out}",
            *extra]
    command = ["python", "tools/train.py", *args]
    run_dir = out if out.is_absolute() else REPO / out
    start = time.perf_counter()
    returncode, output = _run_streaming([sys.executable, str(REPO / "tools" / "train.py"), *args], name, start, log)
    wall = time.perf_counter() - start
    if returncode != 0:
        tail = "\n".join(output[-5:])
        raise RuntimeError(f"training {name} failed (exit {returncode}): {shlex.join(command)}\n{tail}")
    report = json.loads((run_dir / "report.json").read_text())
    return _result_record(report, wall, args, _dt.datetime.now(), out)


def _result_record(report: dict[str, Any], wall: float, args: Sequence[str], when: _dt.datetime,
                   run_dir: Path) -> dict[str, Any]:
    """One model's entry in ``results/synthetic_cpu.json`` from its run's ``report.json`` and ``tools/train.py`` args."""
    return {
        "run_dir": str(run_dir),
        "video_top1": report["video_top1"],
        "clip_top1": report.get("clip_top1"),
        "epochs": report["epochs"],
        "train_videos": report.get("num_train_videos"),
        "wall_seconds": round(wall, 1),
        "command": shlex.join(["python", "tools/train.py", *args]),
        "date": when.astimezone().isoformat(timespec="seconds"),
    }


def load_results(path: Path = RESULTS_FILE) -> dict[str, Any]:
    """``results/synthetic_cpu.json`` as a dict (an empty skeleton if it does not exist yet)."""
    if path.exists():
        return json.loads(path.read_text())
    return {"models": {}}


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__}


def _check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in list_models()]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from: {', '.join(small_models())}")


def _store(name: str, record: dict[str, Any], path: Path, log) -> dict[str, Any]:
    """Merge one model's record into ``path`` (re-read first: keep what another run wrote meanwhile)."""
    record["machine"] = _machine()
    results = load_results(path)
    results["models"][name] = record
    results["models"] = dict(sorted(results["models"].items()))
    results["dataset"] = ("synthetic motions (vidzoo default: 9 classes, 30 train + 10 test videos per class; a recipe "
                          "that sets data.synthetic.train_per_class trains on more videos, tested on the same 90)")
    results["metric"] = "video_top1 on the held-out test split (multi-clip average)"
    atomic_write_json(path, results, sort_keys=False)
    log(f"[model_card] {name}: video_top1 {record['video_top1']:.3f} ({record['epochs']} epochs, "
        f"{record['wall_seconds']:.0f} s)")
    return results


def stage_one_overrides(name: str, results: dict[str, Any]) -> list[str]:
    """``model.kwargs.<key>=<run folder>`` of the stage-1 run that ``name``'s recipe starts from (none for most)."""
    if name not in PRETRAINED_FROM:
        return []
    key, stage_one = PRETRAINED_FROM[name]
    run_dir = results.get("models", {}).get(stage_one, {}).get("run_dir")
    if not run_dir or not (REPO / run_dir).is_dir():
        raise FileNotFoundError(f"{name} trains on the weights of {stage_one}, which has no run folder here; "
                                f"train both: --models {stage_one},{name}")
    return [f"model.kwargs.{key}={run_dir}"]


def train_models(names: Sequence[str], path: Path = RESULTS_FILE, log=print) -> dict[str, Any]:
    """Train each model in turn (stage-1 recipes before the recipes that start from them) and merge its record into
    ``path`` after every model (a crash keeps the rest)."""
    _check_names(names)
    stage_ones = {stage_one for _, stage_one in PRETRAINED_FROM.values()}
    names = sorted(names, key=lambda n: n not in stage_ones)
    results = load_results(path)
    for name in names:
        log(f"[model_card] training {name} ...")
        results = _store(name, train_one(name, extra=stage_one_overrides(name, results), log=log), path, log)
    return results


def run_record(name: str, run_dir: Path) -> dict[str, Any]:
    """The result record of a finished ``tools/train.py`` run of ``name`` in ``run_dir``.

    The command is rebuilt from Hydra's saved overrides; wall seconds span from the overrides file (written at
    start-up) to ``report.json`` (written at the end). A run of another model, or one that did not finish, is
    refused.
    """
    import yaml

    report_file, overrides_file = run_dir / "report.json", run_dir / ".hydra" / "overrides.yaml"
    for f in (report_file, overrides_file):
        if not f.is_file():
            raise FileNotFoundError(f"{f} does not exist: record a run that tools/train.py finished")
    report = json.loads(report_file.read_text())
    trained = report.get("model", {}).get("name")
    if trained != name:
        raise ValueError(f"{run_dir} trained {trained!r}, not {name!r}")
    overrides = [str(o) for o in yaml.safe_load(overrides_file.read_text())]
    end = report_file.stat().st_mtime
    return _result_record(report, end - overrides_file.stat().st_mtime, overrides, _dt.datetime.fromtimestamp(end),
                          run_dir)


def record_runs(pairs: Sequence[str], path: Path = RESULTS_FILE, log=print) -> dict[str, Any]:
    """``--record NAME=RUN_DIR ...``: store finished runs' results in ``path``."""
    parsed = []
    for pair in pairs:
        name, sep, run_dir = pair.partition("=")
        if not sep or not name or not run_dir:
            raise ValueError(f"--record takes NAME=RUN_DIR, got {pair!r}")
        parsed.append((name, Path(run_dir)))
    _check_names([n for n, _ in parsed])
    results = load_results(path)
    for name, run_dir in parsed:
        results = _store(name, run_record(name, run_dir), path, log)
    return results
