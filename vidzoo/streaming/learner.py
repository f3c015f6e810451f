"""What every stream learner shares: the set of classes it knows and the policy for a class it does not.

A learner sees one example at a time through ``update(x, y)`` and can be evaluated at any point through
``scores(X)``. Classes are global integer labels; a label the learner was not told about is either learnt
as a new class (``new_classes="add"``) or refused with :class:`UnknownClassError` (``"refuse"``).
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from vidzoo.errors import ConfigValueError

NEW_CLASS_POLICIES = ("add", "refuse")


class StreamLearner(Protocol):
    """The interface of every learner and baseline. ``input_kind`` is ``"pooled"`` (features ``(D,)``) or
    ``"maps"`` (mid-level maps ``(C, t, h, w)``)."""

    name: str
    input_kind: str

    def fit_base(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        """The base phase: ``(N, ...)`` inputs with labels ``(N,)``, all at once."""

    def update(self, x: torch.Tensor, y: int) -> None:
        """Learn one example."""

    def scores(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` -> ``(N, K)`` class scores (``-inf`` for classes not learnt yet)."""

    def memory_bytes(self) -> int:
        """Bytes the learner keeps between examples."""


class UnknownClassError(ConfigValueError):
    """A stream example's class is not known and the learner was told to refuse new classes."""


class ClassSet:
    """The classes a learner knows, in the order it met them."""

    def __init__(self, classes: list[int] | tuple[int, ...] = (), policy: str = "add", names: list[str] | None = None):
        if policy not in NEW_CLASS_POLICIES:
            raise ConfigValueError(f"streaming.new_classes={policy!r}; choose one of {', '.join(NEW_CLASS_POLICIES)}")
        self.known: set[int] = set(int(c) for c in classes)
        self.policy = policy
        self.names = names

    def admit(self, label: int) -> bool:
        """Accept ``label``; True when it is new. Raises :class:`UnknownClassError` under ``refuse``."""
        label = int(label)
        if label in self.known:
            return False
        if self.policy == "refuse":
            name = self.names[label] if self.names and 0 <= label < len(self.names) else str(label)
            raise UnknownClassError(
                f"stream example of class {name!r}, which the learner was not told about (streaming.new_classes="
                f"refuse); set streaming.new_classes=add to learn it as a new class"
            )
        self.known.add(label)
        return True

    def mask(self, scores: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` scores with the columns of unknown classes set to ``-inf``."""
        keep = torch.zeros(scores.shape[1], dtype=torch.bool, device=scores.device)
        keep[[c for c in self.known if c < scores.shape[1]]] = True
        return scores.masked_fill(~keep, float("-inf"))


def grow_linear(layer: nn.Linear, num_outputs: int) -> nn.Linear:
    """A copy of ``layer`` with ``num_outputs`` rows (>= its own); new rows start at zero weight and bias."""
    if num_outputs <= layer.out_features:
        return layer
    new = nn.Linear(layer.in_features, num_outputs, bias=layer.bias is not None).to(layer.weight.device)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[: layer.out_features] = layer.weight
        if layer.bias is not None:
            new.bias.zero_()
            new.bias[: layer.out_features] = layer.bias
    return new


def tensor_bytes(*tensors: torch.Tensor) -> int:
    """Bytes held by ``tensors`` (what a learner keeps between examples)."""
    return int(sum(t.numel() * t.element_size() for t in tensors))


def parameter_bytes(module: nn.Module) -> int:
    return tensor_bytes(*module.parameters(), *module.buffers())
