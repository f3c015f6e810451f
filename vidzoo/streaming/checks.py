"""Every value of a composed ``vidzoo-stream`` config, checked before the base phase trains anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError
from vidzoo.streaming.protocol import ORDERINGS
from vidzoo.validation import check_cheap, check_costly

NEW_CLASS_POLICIES = ("add", "refuse")
LEARNERS = ("slda", "exstream", "remind")
BASELINES = ("finetune", "offline")


def check_names(s: Any) -> None:
    """Refuse an unknown learner or baseline name in ``streaming.learners`` / ``streaming.baselines``."""
    for key, allowed in (("learners", LEARNERS), ("baselines", BASELINES)):
        for name in s[key]:
            if name not in allowed:
                raise ConfigValueError(f"streaming.{key} names {name!r}; choose from {', '.join(allowed)}")


def check_stream_config(cfg: Any) -> None:
    """Stream keys (ordering, counts, learner names, output folder), then the training sections' own rules
    (``vidzoo.validation``); the first bad value raises ConfigValueError naming its key."""
    if cfg.ordering not in ORDERINGS:
        raise ConfigValueError(f"unknown ordering {cfg.ordering!r}; choose one of {', '.join(ORDERINGS)}")
    for key in ("base_classes", "clips_per_video", "classes_per_increment"):
        if int(cfg[key]) < 1:
            raise ConfigValueError(f"{key}={cfg[key]} must be >= 1")
    if int(cfg.num_increments) < 0:
        raise ConfigValueError(f"num_increments={cfg.num_increments} must be >= 0 (0: as many as the class blocks)")
    if cfg.streaming.new_classes not in NEW_CLASS_POLICIES:
        raise ConfigValueError(f"streaming.new_classes={cfg.streaming.new_classes!r}; choose one of "
                               f"{', '.join(NEW_CLASS_POLICIES)}")
    check_names(cfg.streaming)
    out = Path(cfg.output_dir)
    if out.is_file() or (out.is_dir() and any(out.iterdir())):
        raise ConfigValueError(f"output_dir={out} already exists and is not empty; choose another output_dir")
    check_cheap(cfg)
    check_costly(cfg)
