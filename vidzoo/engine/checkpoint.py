"""Checkpoints: safetensors tensors + JSON metadata, written atomically, never pickled.

A checkpoint is a directory::

    epoch_0003/
      model.safetensors        weights
      meta.json                model name + kwargs, class names, preprocessing, config, metrics
      train_state.safetensors  optimizer tensors and torch RNG states        (training only)
      train_state.json         epoch, step, optimizer hyper-parameters, numpy/python RNG (training only)

It is first written to a hidden temporary directory and then renamed into place, so a
process killed mid-write leaves either the previous checkpoint or the new one, never a
half-written one. ``last.json`` / ``best.json`` in the checkpoint folder point at the
newest and best directories and are themselves replaced atomically.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from vidzoo.engine.ckpt_files import checkpoint_file, follow_pointer, read_json_object
from vidzoo.engine.ckpt_meta import FORMAT_VERSION, check_finite, check_format, check_train_state, state_problems
from vidzoo.errors import CheckpointError, ConfigValueError, OutputError, checkpoint_not_found  # CheckpointError: raised by callers as ckpt.CheckpointError
from vidzoo.files import atomic_write_json, make_temp_dir, remove_leftovers, replace_dir

MODEL_FILE = "model.safetensors"
META_FILE = "meta.json"
STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` atomically (see :func:`vidzoo.files.atomic_write_json`)."""
    atomic_write_json(path, obj)


def _tensors_for_saving(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses shared storage and non-contiguous views; copies are cheap at our sizes.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def _split_optimizer_state(opt_state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, pstate in opt_state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim/{pid}/{key}"] = value
            else:
                plain.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": opt_state["param_groups"], "plain_state": plain}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim/"):
            _, pid, key = name.split("/", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, values in info["plain_state"].items():
        state.setdefault(int(pid), {}).update(values)
    return {"state": state, "param_groups": info["param_groups"]}


def capture_rng() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Snapshot the torch, CUDA, numpy and python RNGs as (tensors, JSON-able values)."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, pystate, gauss = random.getstate()
    plain = {
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(pystate), gauss],
    }
    return tensors, plain


def restore_rng(tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng/cuda/"))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, pystate, gauss = plain["python"]
    random.setstate((version, tuple(pystate), gauss))


def save_checkpoint(
    directory: str | Path,
    model_state: dict[str, torch.Tensor],
    meta: dict[str, Any],
    optimizer_state: dict[str, Any] | None = None,
    train_state: dict[str, Any] | None = None,
) -> Path:
    """Atomically write a checkpoint directory (see module docstring) and return its path."""
    directory = Path(directory)
    if directory.exists() and not (directory / MODEL_FILE).is_file() and any(directory.iterdir()):
        raise OutputError(f"{directory} exists and is not a checkpoint, so it is not replaced; save to another folder")
    remove_leftovers(directory.parent, lambda name: name == directory.name)  # left by a killed process
    tmp = make_temp_dir(directory.parent, directory.name)
    try:
        save_file(_tensors_for_saving(model_state), str(tmp / MODEL_FILE), metadata={"format": "pt"})
        with open(tmp / META_FILE, "w") as f:
            json.dump({"format_version": FORMAT_VERSION, **meta}, f, indent=2, sort_keys=True)
        if optimizer_state is not None or train_state is not None:
            tensors, plain = capture_rng()
            info: dict[str, Any] = {"rng": plain, **(train_state or {})}
            if optimizer_state is not None:
                opt_tensors, info["optimizer"] = _split_optimizer_state(optimizer_state)
                tensors.update(opt_tensors)
            save_file(_tensors_for_saving(tensors), str(tmp / STATE_TENSORS))
            with open(tmp / STATE_JSON, "w") as f:
                json.dump(info, f, indent=2)
        for child in tmp.iterdir():
            with open(child, "rb") as f:
                os.fsync(f.fileno())
        replace_dir(tmp, directory)  # an existing copy (an epoch re-run after a resume) is retired first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def resolve_checkpoint(path: str | Path, which: str = "best") -> Path:
    """Find a checkpoint directory from a checkpoint dir, a run dir, or a ``model.safetensors`` file.

    For a run directory (or its ``checkpoints/`` folder) ``which`` picks ``best`` or ``last``,
    falling back to the other when one is absent. A pointer that leads outside its folder is refused.
    """
    if which not in ("best", "last"):
        raise ConfigValueError(f"which={which!r}: choose best or last")
    p = Path(path).expanduser()
    if p.is_file() and p.name == MODEL_FILE:
        p = p.parent
    if (p / MODEL_FILE).is_file():
        return p
    for folder in (p / "checkpoints", p):
        for name in (which, "last" if which == "best" else "best"):
            target = follow_pointer(folder, name) if folder.is_dir() else None
            if target is not None and (target / MODEL_FILE).is_file():
                return target
    if not p.exists():
        raise CheckpointError(checkpoint_not_found(p))
    raise CheckpointError(f"no checkpoint in {p}: expected {MODEL_FILE} + {META_FILE}, or checkpoints/last.json from a training run")


def read_meta(ckpt_dir: Path) -> dict[str, Any]:
    """Read ``meta.json`` of a checkpoint directory (a regular file of a known ``format_version``)."""
    meta = read_json_object(Path(ckpt_dir), META_FILE)
    check_format(meta, Path(ckpt_dir) / META_FILE)
    return meta


def load_weights(ckpt_dir: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load ``model.safetensors`` (no pickle involved; a regular file inside the checkpoint)."""
    return load_file(str(checkpoint_file(Path(ckpt_dir), MODEL_FILE)), device=str(device))


def load_train_state(ckpt_dir: Path, required: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Return ``(optimizer_state_dict or None, train_state)`` and restore the RNGs; ``required`` fields of
    ``train_state.json`` must be present."""
    ckpt_dir = Path(ckpt_dir)
    if not os.path.lexists(ckpt_dir / STATE_JSON):
        raise CheckpointError(f"{ckpt_dir} holds no training state ({STATE_JSON}); it is a weights-only checkpoint")
    info = read_json_object(ckpt_dir, STATE_JSON)
    check_train_state(info, ckpt_dir / STATE_JSON, required)
    tensors = load_file(str(checkpoint_file(ckpt_dir, STATE_TENSORS)))
    check_finite({k: v for k, v in tensors.items() if k.startswith("optim/")}, str(ckpt_dir / STATE_TENSORS))
    restore_rng(tensors, info.pop("rng"))
    opt = info.pop("optimizer", None)
    return (_join_optimizer_state(tensors, opt) if opt is not None else None), info


def load_state_into(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str, expected: str) -> None:
    """``model.load_state_dict(state)`` with a one-line error naming the mismatch and the fix.

    Names, shapes and dtypes must match (nothing is cast silently) and every float must be finite.
    """
    problems = state_problems(model.state_dict(), state)
    if problems:
        raise CheckpointError(
            f"{source} does not fit model {expected!r}: " + "; ".join(problems)
            + " - it was saved from another architecture, size or dtype; pick the matching model or another checkpoint"
        )
    check_finite(state, source)
    model.load_state_dict(state)


def update_pointer(folder: Path, name: str, target: Path) -> None:
    """Point ``folder/<name>.json`` at ``target`` (a sibling directory)."""
    write_json_atomic(Path(folder) / f"{name}.json", {"path": Path(target).name})
