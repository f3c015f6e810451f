"""A trainable output layer on frozen features, grown when new classes arrive.

Used by ExStream, fine-tuning and the offline baseline (features ``(N, D)``) and by REMIND (its top layers,
whose last ``nn.Linear`` is the classifier). Every update is plain SGD on cross-entropy.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vidzoo.streaming.learner import grow_linear


def remap_linear(layer: nn.Linear, source_rows: Sequence[int | None]) -> nn.Linear:
    """A linear layer whose row ``k`` is ``layer``'s row ``source_rows[k]`` (zero when ``None``).

    Maps a checkpoint's classifier (its own class order) onto the dataset's class indices.
    """
    new = nn.Linear(layer.in_features, len(source_rows), bias=layer.bias is not None).to(layer.weight.device)
    with torch.no_grad():
        new.weight.zero_()
        if new.bias is not None:
            new.bias.zero_()
        for k, src in enumerate(source_rows):
            if src is not None:
                new.weight[k] = layer.weight[src]
                if new.bias is not None:
                    new.bias[k] = layer.bias[src]
    return new


def set_submodule(root: nn.Module, name: str, new: nn.Module) -> None:
    """Replace ``root``'s submodule at the dotted path ``name`` by ``new``."""
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, new)


class TrainableTop:
    """``module`` (features -> logits) trained by SGD; its classifier ``classifier_name`` grows with new classes.

    ``module`` may be the classifier itself (``classifier_name=""``) or a network whose submodule
    ``classifier_name`` is its last ``nn.Linear``.
    """

    def __init__(self, module: nn.Module, classifier_name: str = "", *, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 1e-5) -> None:
        self.module = module
        self.classifier_name = classifier_name
        self.hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        self._new_optimizer()

    def _new_optimizer(self) -> None:
        params = [p for p in self.module.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(params, **self.hyper)

    @property
    def classifier(self) -> nn.Linear:
        return self.module.get_submodule(self.classifier_name) if self.classifier_name else self.module

    @property
    def num_classes(self) -> int:
        return self.classifier.out_features

    def ensure_classes(self, num_classes: int) -> None:
        """Grow the classifier to at least ``num_classes`` outputs (a fresh optimizer when it grows)."""
        if num_classes <= self.num_classes:
            return
        grown = grow_linear(self.classifier, num_classes)
        if self.classifier_name:
            set_submodule(self.module, self.classifier_name, grown)
        else:
            self.module = grown
        self._new_optimizer()

    def step(self, inputs: torch.Tensor, targets: torch.Tensor, soft: bool = False) -> float:
        """One SGD step on a batch; ``targets`` are ``(B,)`` labels or ``(B, K)`` probabilities (``soft``)."""
        self.module.train()
        logits = self.module(inputs)
        loss = F.cross_entropy(logits, targets) if not soft else -(targets * F.log_softmax(logits, 1)).sum(1).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def fit(self, inputs: torch.Tensor, targets: torch.Tensor, *, epochs: int, batch_size: int = 32,
            seed: int = 0) -> None:
        """Offline training: ``epochs`` shuffled passes over ``(N, ...)`` inputs with labels ``(N,)``."""
        self.ensure_classes(int(targets.max()) + 1)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            perm = torch.randperm(len(targets), generator=gen)
            for i in range(0, len(perm), batch_size):
                idx = perm[i : i + batch_size]
                self.step(inputs[idx], targets[idx])

    @torch.no_grad()
    def scores(self, inputs: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """``(N, ...)`` -> ``(N, K)`` logits in eval mode."""
        self.module.eval()
        return torch.cat([self.module(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])
