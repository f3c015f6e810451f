"""The two reference points of every stream run, both on the same frozen pooled features as the learners.

* :class:`FineTune`: one SGD step on each new example alone, nothing replayed: the catastrophic-forgetting
  lower bound.
* :class:`Offline`: keeps every example seen and, when evaluated, trains a fresh copy of the base output layer
  for ``epochs`` shuffled passes over all of them: the upper bound that Omega divides by.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from vidzoo.streaming.heads import TrainableTop
from vidzoo.streaming.learner import ClassSet, parameter_bytes, tensor_bytes


class FineTune:
    """Plain SGD on the output layer, one example at a time."""

    name = "finetune"
    input_kind = "pooled"

    def __init__(self, head: nn.Linear, *, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 1e-5,
                 new_classes: str = "add", class_names: list[str] | None = None) -> None:
        self.top = TrainableTop(head, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.classes = ClassSet(policy=new_classes, names=class_names)

    def fit_base(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """The head keeps the base model's classifier; only the known classes are recorded."""
        self.classes.known.update(int(c) for c in torch.unique(labels).tolist())
        self.top.ensure_classes(int(labels.max()) + 1)

    def update(self, x: torch.Tensor, y: int) -> None:
        self.classes.admit(int(y))
        self.top.ensure_classes(int(y) + 1)
        self.top.step(x.reshape(1, -1).float(), torch.tensor([int(y)]))

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.classes.mask(self.top.scores(features.float()))

    def memory_bytes(self) -> int:
        return parameter_bytes(self.top.module)


class Offline:
    """Everything seen, retrained from the base output layer whenever it is evaluated after new examples."""

    name = "offline"
    input_kind = "pooled"

    def __init__(self, head: nn.Linear, *, epochs: int = 60, batch_size: int = 32, lr: float = 0.05,
                 momentum: float = 0.9, weight_decay: float = 1e-5, seed: int = 0) -> None:
        self.initial = copy.deepcopy(head)
        self.hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        self.epochs, self.batch_size, self.seed = int(epochs), int(batch_size), int(seed)
        self.classes = ClassSet()
        self.seen_x: list[torch.Tensor] = []
        self.seen_y: list[int] = []
        self._top: TrainableTop | None = None

    def fit_base(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        for x, y in zip(features, labels.tolist()):
            self.update(x, y)

    def update(self, x: torch.Tensor, y: int) -> None:
        self.classes.admit(int(y))
        self.seen_x.append(x.reshape(-1).float())
        self.seen_y.append(int(y))
        self._top = None

    def _trained(self) -> TrainableTop:
        if self._top is None:
            top = TrainableTop(copy.deepcopy(self.initial), **self.hyper)
            top.fit(torch.stack(self.seen_x), torch.tensor(self.seen_y), epochs=self.epochs,
                    batch_size=self.batch_size, seed=self.seed)
            self._top = top
        return self._top

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.classes.mask(self._trained().scores(features.float()))

    def memory_bytes(self) -> int:
        """Every stored feature (float32) and label, plus the output layer."""
        return tensor_bytes(*self.seen_x) + 8 * len(self.seen_y) + parameter_bytes(self.initial)
