"""The training config stored in a checkpoint's ``meta.json``, read as plain data for evaluation.

The stored config comes with the checkpoint, so it is input: it is never resolved (a ``${oc.env:HOME}``
in it would read this machine's environment), and the numbers evaluation allocates from (frame counts,
crop sizes, clips per video, batch size, workers, the synthetic generator's sizes) are checked against
sane bounds after the user's ``data.*`` overrides are applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from vidzoo.errors import CheckpointError

#: ``data`` integers evaluation allocates from: (lowest, highest).
DATA_BOUNDS = {"split": (1, 99), "num_frames": (1, 1024), "stride": (1, 256), "resize": (1, 4096),
               "crop_size": (1, 4096), "test_clips": (1, 100), "test_crops": (1, 10), "batch_size": (1, 4096),
               "num_workers": (0, 64), "prefetch_factor": (1, 64), "seq_clips": (1, 64), "flow_length": (1, 64)}
SYNTHETIC_BOUNDS = {"seed": (0, 2**32 - 1), "train_per_class": (1, 10_000), "test_per_class": (1, 10_000),
                    "num_frames": (2, 1024), "fps": (1, 1000)}


def _plain_strings(node: Any, file: Path, key: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _plain_strings(v, file, f"{key}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _plain_strings(v, file, f"{key}[{i}]")
    elif isinstance(node, str) and ("${" in node or node == "???"):
        raise CheckpointError(
            f"{file}: field {key!r} holds an interpolation or a missing value ('${{...}}' / '???'), which is never "
            "resolved from a checkpoint; vidzoo stores resolved configs - pick another checkpoint"
        )


def stored_config(meta: dict[str, Any], file: Path) -> DictConfig:
    """``meta["config"]`` as a struct OmegaConf node, refused when any string in it would be interpolated."""
    config = meta.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
        raise CheckpointError(f"{file}: field 'config' (the training config with a 'data' section) is missing; "
                              "evaluate this checkpoint with your own loader")
    _plain_strings(config, file, "config")
    cfg = OmegaConf.create(config)
    OmegaConf.update(cfg, "data.allow_overlap", False, force_add=True)  # only the person evaluating may allow it
    OmegaConf.set_struct(cfg, True)
    return cfg


def _check_int(value: Any, file: Path, key: str, lo: int, hi: int) -> None:
    if type(value) is not int or not lo <= value <= hi:
        raise CheckpointError(f"{file}: field 'config.{key}' is {value!r}, outside the sane range {lo}..{hi}; "
                              f"override it with {key}=N")


def check_eval_data(cfg: DictConfig, file: Path) -> None:
    """Bounds of the numbers evaluation allocates from (the stored ``data`` section after overrides)."""
    d = cfg.data
    for key, (lo, hi) in DATA_BOUNDS.items():
        if key in d:
            _check_int(d[key], file, f"data.{key}", lo, hi)
    _check_int(cfg.get("trainer", {}).get("seed", 0), file, "trainer.seed", 0, 2**32 - 1)
    synthetic = d.get("synthetic") or {}
    for key, (lo, hi) in SYNTHETIC_BOUNDS.items():
        if key in synthetic:
            _check_int(synthetic[key], file, f"data.synthetic.{key}", lo, hi)
    size = list(synthetic.get("size", [64, 80]))
    if len(size) != 2:
        raise CheckpointError(f"{file}: field 'config.data.synthetic.size' must be [H, W], got {size!r}")
    for i, side in enumerate(size):
        _check_int(side, file, f"data.synthetic.size[{i}]", 16, 4096)
