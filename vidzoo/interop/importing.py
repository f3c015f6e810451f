"""``import_weights``: a published weights file -> a zoo checkpoint (``model.safetensors`` + ``meta.json``).

The file is read without unpickling code (:mod:`vidzoo.interop.reading`), its keys renamed by the source's
table (:mod:`vidzoo.interop.sources`), checked name by name and shape by shape against the zoo model built
by :func:`vidzoo.models.build_model`, and written with the engine's checkpoint writer, so
``vidzoo.load_model(output)`` returns the network, its class names and the preprocessing the source expects.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import torch

from vidzoo.engine.checkpoint import save_checkpoint
from vidzoo.interop.keymap import fit_state, rename_keys
from vidzoo.interop.reading import WeightsImportError, read_state_dict
from vidzoo.interop.sources import get_source
from vidzoo.models.registry import build_model


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _num_classes(head: torch.Tensor | None, requested: int | None, source: str) -> int:
    if head is None:
        if requested is None:
            raise WeightsImportError(f"{source} has no classifier (a pre-trained backbone); pass num_classes "
                                     "(--num-classes N) to add a freshly initialised one")
        return requested
    found = int(head.shape[0])
    if requested is not None and requested != found:
        raise WeightsImportError(f"{source} has a {found}-class classifier, not {requested}; drop num_classes "
                                 "or import the matching file")
    return found


def import_weights(
    source: str,
    path: str | Path,
    output: str | Path,
    model: str | None = None,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> Path:
    """Import ``path`` (a file from ``source``) into a new checkpoint directory ``output``; return it.

    Args:
        source: ``torchvision``, ``mmaction2``, ``c3d-pickle`` or ``pytorchvideo``.
        model: zoo model to build; by default the one the file's keys show.
        num_classes: required only for a file without a classifier (its classifier is then freshly initialised).
        class_names: one name per class for ``meta.json`` (e.g. Kinetics-400's), or none.
        preprocessing: entries that replace the source's defaults (e.g. ``{"num_frames": 32, "stride": 2}``).

    ``output`` must not exist: an import never replaces a directory it did not create.
    """
    path, output = Path(path).expanduser(), Path(output).expanduser()
    if output.exists():
        raise WeightsImportError(f"output {output} already exists; choose a new directory (imports never replace one)")
    state = read_state_dict(path)
    plan = get_source(source).plan(state, model)
    renamed = rename_keys(state, plan.rules, str(path))
    head = renamed.get(plan.head[0], (None, None))[1]
    classes = _num_classes(head, num_classes, str(path))
    if class_names is not None and len(class_names) != classes:
        raise WeightsImportError(f"{len(class_names)} class names given for a {classes}-class model; "
                                 "pass one name per class, in the classifier's order")
    net = build_model(plan.model, num_classes=classes, **plan.kwargs)
    weights = fit_state(net, renamed, str(path), plan.model, allow_missing=plan.head if head is None else ())
    net.load_state_dict(weights)
    meta = {
        "model": {"name": plan.model, "kwargs": plan.kwargs, "num_classes": classes},
        "class_names": list(class_names or []),
        "preprocessing": {**plan.preprocessing, **(preprocessing or {})},
        "imported_from": {"source": source, "file": path.name, "sha256": _sha256(path),
                          "classifier": "imported" if head is not None else "initialised"},
    }
    return save_checkpoint(output, net.state_dict(), meta)
