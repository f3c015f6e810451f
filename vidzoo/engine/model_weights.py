"""Pre-trained weights named in ``model.kwargs``: the engine reads them, the models get plain tensors.

A builder argument whose name ends in ``_weights`` (``backbone_weights``, ``spatial_weights``,
``temporal_weights``, ``encoder_weights``) takes a state dict. In a config it holds a path instead: a
``.safetensors`` file, a vidzoo checkpoint folder or run folder (its best checkpoint, else its last) or a
``.pth``/``.pt`` file (read with ``torch.load(weights_only=True)``: no code in it runs). :func:`read_weight_kwargs`
replaces each path by the tensors it names before the builder is called.

``model.init_weights`` names such a file for the whole model (e.g. a ``vidzoo-import-weights`` folder): after
the model is built, :func:`init_from_weights` copies every tensor whose name and shape match and leaves the rest
(a classifier for another number of classes) as initialised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import load_file

from vidzoo.engine.checkpoint import load_weights, resolve_checkpoint
from vidzoo.errors import CheckpointError, ConfigValueError

_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel, torch.compile


def is_weights_path(key: str, value: Any) -> bool:
    """Whether ``model.kwargs[key] = value`` names a weights file to read."""
    return key.endswith("_weights") and isinstance(value, (str, Path)) and bool(str(value))


def read_weights(path: str | Path, key: str = "weights") -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` state dict behind ``path`` (see the module docstring); ``key`` names the config key
    (a ``model.kwargs`` key, or a dotted key such as ``model.init_weights``)."""
    p = Path(path).expanduser()
    key = key if "." in key else f"model.kwargs.{key}"
    if not p.exists():
        raise ConfigValueError(f"{key}={p} does not exist; give a .safetensors/.pth file, a checkpoint "
                               "folder or a run folder (nothing is downloaded)")
    try:
        if p.is_dir() or p.name == "model.safetensors":
            state = load_weights(resolve_checkpoint(p))
        elif p.suffix == ".safetensors":
            state = load_file(str(p))
        else:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the same user error
        raise ConfigValueError(f"{key}={p}: cannot read weights ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ConfigValueError(f"{key}={p}: expected a state dict of tensors")
    clean = {}
    for name, value in state.items():
        for prefix in _PREFIXES:
            name = name.removeprefix(prefix)
        clean[name] = value
    return clean


def read_weight_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``kwargs`` with every ``*_weights`` path replaced by its state dict."""
    return {k: read_weights(v, k) if is_weights_path(k, v) else v for k, v in kwargs.items()}


def init_from_weights(model: torch.nn.Module, path: str | Path, key: str = "model.init_weights") -> str:
    """Copy into ``model`` every tensor of the weights at ``path`` whose name and shape match its own; the others
    keep their fresh initialisation. Returns a one-line report; nothing fitting is a one-line ConfigValueError."""
    state = read_weights(path, key)
    own = model.state_dict()
    fits = {k: v for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    if not fits:
        raise ConfigValueError(f"{key}={path}: none of its {len(state)} tensors fits model "
                               f"{type(model).__name__} (e.g. {next(iter(state), 'none')}); give weights of this model")
    model.load_state_dict(fits, strict=False)
    fresh = [k for k in own if k not in fits]
    shown = f" (e.g. {', '.join(fresh[:2])})" if fresh else ""
    return (f"[vidzoo] {key}={path}: loaded {len(fits)} of the model's {len(own)} tensors; {len(fresh)} kept "
            f"fresh{shown}; {len(state) - len(fits)} of the file's tensors unused")
