"""The base-initialisation phase: the shared trainer trains the backbone on the base classes only.

It is an ordinary training run (the same trainer, checkpoints and report as ``tools/train.py``) of the stream
config's data/model/optim/sched/trainer sections with ``+data.extra.classes`` set to the base classes, written
to ``<output_dir>/base``. The same run by hand::

    python tools/train.py '+data.extra.classes=[Still,TranslateLeft,TranslateRight,TranslateUp]'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from omegaconf import OmegaConf


def base_training_config(cfg: Any, base_names: Sequence[str], output_dir: Path) -> Any:
    """The training config (``vidzoo.config.Config``) of the base phase."""
    from vidzoo.config import Config

    plain = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("data", "model", "optim", "sched", "trainer")}
    plain["data"]["extra"] = {**plain["data"].get("extra", {}), "classes": list(base_names)}
    plain["trainer"].update({"output_dir": str(output_dir), "resume": False})
    return OmegaConf.merge(OmegaConf.structured(Config), plain)


def train_base(cfg: Any, base_names: Sequence[str], out: Path) -> Path:
    """Train the backbone on the classes ``base_names`` with the shared trainer; returns the run folder."""
    from vidzoo.engine.experiment import build_trainer

    run_dir = out / "base"
    report = build_trainer(base_training_config(cfg, base_names, run_dir)).fit()
    print(f"[vidzoo-stream] base phase: {cfg.model.name} on {len(base_names)} classes, held-out video_top1 "
          f"{report.get('video_top1', float('nan')):.4f} -> {run_dir}")
    return run_dir
