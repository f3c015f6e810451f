"""Table-driven renaming of a foreign state dict into a zoo model's keys, with one-line mismatch errors.

A key map is an ordered list of ``(pattern, replacement)`` rules: the first pattern that matches the whole key
wins, and ``re.Match.expand`` builds the zoo key from the replacement (``None`` drops the key, for buffers the
zoo does not keep). A key no rule matches is an error naming that key, so a file of another architecture fails
at its first foreign tensor instead of loading half its weights.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from torch import nn

from vidzoo.interop.reading import WeightsImportError

Rule = tuple[str, "str | None"]
KeyMap = Sequence[Rule]

#: Renames nothing (sources whose layout is the zoo's, such as torchvision's video ResNets).
IDENTITY: KeyMap = ((r"(.+)", r"\1"),)


def rename_keys(state: dict[str, torch.Tensor], rules: KeyMap, source: str) -> dict[str, tuple[str, torch.Tensor]]:
    """Apply ``rules`` to every key: ``{zoo_key: (source_key, tensor)}``. Raises on the first unmatched key."""
    compiled = [(re.compile(pattern), repl) for pattern, repl in rules]
    out: dict[str, tuple[str, torch.Tensor]] = {}
    for key, value in state.items():
        for pattern, repl in compiled:
            match = pattern.fullmatch(key)
            if match:
                if repl is not None:
                    out[match.expand(repl)] = (key, value)
                break
        else:
            raise WeightsImportError(
                f"{source}: key {key!r} has no counterpart in the zoo model (first unmatched key); "
                "the file is of another architecture - pick the matching source/model"
            )
    return out


def fit_state(
    model: nn.Module, renamed: dict[str, tuple[str, torch.Tensor]], source: str, model_name: str,
    allow_missing: Sequence[str] = (),
) -> dict[str, torch.Tensor]:
    """Check names and shapes of ``renamed`` against ``model`` and return a state dict it loads strictly.

    Keys in ``allow_missing`` (e.g. a classifier the file lacks) keep the model's own initial values.
    """
    own = model.state_dict()
    for zoo_key, (src_key, tensor) in renamed.items():
        if zoo_key not in own:
            raise WeightsImportError(
                f"{source}: key {src_key!r} (as {zoo_key!r}) does not exist in model {model_name!r}; "
                "the file is of another architecture or variant - pick the matching model"
            )
        if tuple(tensor.shape) != tuple(own[zoo_key].shape):
            raise WeightsImportError(
                f"{source}: key {src_key!r} has shape {tuple(tensor.shape)} but {model_name}.{zoo_key} needs "
                f"{tuple(own[zoo_key].shape)}; the file is of another size or variant - pick the matching model"
            )
    state = {k: v for k, (_, v) in renamed.items()}
    for key, value in own.items():
        if key not in state:
            if key not in allow_missing:
                raise WeightsImportError(
                    f"{source}: no tensor for {model_name}.{key} (first missing key); the file is incomplete "
                    "or of another architecture"
                )
            state[key] = value
    return {k: state[k].to(own[k].dtype) for k in own}
