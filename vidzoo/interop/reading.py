"""Read a published weights file as plain tensors, without ever running code stored in it.

Every file goes through ``torch.load(weights_only=True)``: the restricted unpickler accepts tensors, numbers,
strings and containers, and refuses any other global (a class, a function such as ``os.system``) before calling
it. Checkpoints wrap their weights differently (``state_dict`` for MMAction2, ``model_state`` for pytorchvideo,
nothing for torchvision and ``c3d.pickle``); :func:`read_state_dict` unwraps them.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from vidzoo.engine.checkpoint import CheckpointError
from vidzoo.errors import weights_not_found

#: Keys under which training frameworks store the model's tensors, tried in this order.
WRAPPER_KEYS = ("state_dict", "model_state", "model", "net")


class WeightsImportError(CheckpointError):
    """A weights file cannot be imported; the message names the file, the first offending key and the fix."""


def _refusal_reason(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text) or re.search(r"GLOBAL ([\w.]+)", text)
    if match:
        return f"it stores the Python object {match.group(1)}, which loading would have to execute"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    return first[:200]


def load_tensors_file(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, with one-line errors for a missing, unreadable or unsafe file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsImportError(weights_not_found(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsImportError(
            f"{path} was refused: {_refusal_reason(exc)}; only plain tensors are read (never pickled code) - "
            "re-save just the state_dict with torch.save(model.state_dict(), path) from a trusted source"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        raise WeightsImportError(f"{path} is not a readable PyTorch weights file ({_refusal_reason(exc)}); "
                                 "check the download (size, checksum)") from None


def unwrap_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The ``{name: tensor}`` mapping inside a loaded file: the object itself or one of :data:`WRAPPER_KEYS`.

    A leading ``module.`` (left by ``DataParallel``/DDP) is removed from every key.
    """
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(torch.is_tensor(v) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        kind = type(obj).__name__
        keys = list(obj)[:5] if isinstance(obj, dict) else []
        raise WeightsImportError(
            f"{source} holds no state_dict (a {kind} with keys {keys}); expected name -> tensor entries, "
            f"possibly under one of {', '.join(WRAPPER_KEYS)}"
        )
    return {re.sub(r"^module\.", "", str(k)): v for k, v in obj.items()}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load ``path`` safely (see module docstring) and return its ``{name: tensor}`` state dict."""
    return unwrap_state_dict(load_tensors_file(path), str(path))
