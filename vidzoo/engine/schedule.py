"""Learning-rate schedules as pure functions of the step, so resuming needs only the step count."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LRSchedule:
    """Linear warm-up then cosine decay, step decay or a constant rate.

    ``step_epochs`` are epoch boundaries for ``name="step"``; steps are optimizer steps.
    """

    base_lr: float
    total_steps: int
    steps_per_epoch: int
    name: str = "cosine"
    warmup_steps: int = 0
    min_lr: float = 0.0
    step_epochs: tuple[int, ...] = ()
    gamma: float = 0.1

    def __post_init__(self) -> None:
        if self.name not in ("cosine", "step", "constant"):
            raise ValueError(f"unknown schedule {self.name!r}; choose one of: cosine, step, constant")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.name == "constant":
            return self.base_lr
        if self.name == "step":
            epoch = step // max(self.steps_per_epoch, 1)
            return self.base_lr * self.gamma ** sum(epoch >= e for e in self.step_epochs)
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress))
