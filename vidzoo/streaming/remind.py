"""REMIND (Hayes et al. 2020): replay of product-quantised mid-level maps to update a network's top layers.

The backbone is frozen up to a named layer; every example's map there is quantised, and the top layers are
trained on the reconstruction of the new example mixed with ``replay_size`` reconstructions drawn from the
buffer, augmented as in the paper: a random resized crop of each map (resized back to the map's size) and
mixup of the batch. The new example's codes then join the buffer.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vidzoo.streaming.heads import TrainableTop
from vidzoo.streaming.learner import ClassSet, parameter_bytes
from vidzoo.streaming.pq import MapQuantizer, ReplayBuffer


def random_resized_crop(maps: torch.Tensor, min_scale: float, rng: np.random.Generator) -> torch.Tensor:
    """Crop each map of ``(B, C, t, h, w)`` to a random ``s*h x s*w`` window (``s`` in ``[min_scale, 1]``),
    then resize it back to ``(t, h, w)``."""
    out = []
    t, h, w = maps.shape[2:]
    for m in maps:
        s = rng.uniform(min_scale, 1.0)
        ch, cw = max(1, round(h * s)), max(1, round(w * s))
        y0, x0 = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = m[None, :, :, y0 : y0 + ch, x0 : x0 + cw]
        out.append(F.interpolate(crop, size=(t, h, w), mode="trilinear", align_corners=False)[0])
    return torch.stack(out)


def mixup(maps: torch.Tensor, targets: torch.Tensor, num_classes: int, alpha: float,
          rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix the batch with a permutation of itself: maps ``(B, ...)``, labels ``(B,)`` -> soft targets ``(B, K)``."""
    onehot = F.one_hot(targets, num_classes).float()
    if alpha <= 0:
        return maps, onehot
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(maps)))
    return lam * maps + (1 - lam) * maps[perm], lam * onehot + (1 - lam) * onehot[perm]


class Remind:
    """REMIND on maps ``(C, t, h, w)`` with a trainable ``top`` whose classifier is ``classifier_name``."""

    name = "remind"
    input_kind = "maps"

    def __init__(self, top: nn.Module, classifier_name: str, *, buffer_bytes: int = 1 << 20,
                 num_subvectors: int = 8, nbits: int = 8, replay_size: int = 16, lr: float = 0.01,
                 momentum: float = 0.9, weight_decay: float = 1e-5, crop_min_scale: float = 0.75,
                 mixup_alpha: float = 0.1, new_classes: str = "add", seed: int = 0,
                 class_names: list[str] | None = None) -> None:
        self.top = TrainableTop(top, classifier_name, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.pq_args = (num_subvectors, nbits)
        self.quantizer: MapQuantizer | None = None
        self.buffer = ReplayBuffer(buffer_bytes, seed)
        self.replay_size, self.crop_min_scale, self.mixup_alpha = int(replay_size), crop_min_scale, mixup_alpha
        self.classes = ClassSet(policy=new_classes, names=class_names)
        self.rng = np.random.default_rng(seed)

    def fit_base(self, maps: torch.Tensor, labels: torch.Tensor) -> None:
        """Train the quantiser on the base maps ``(N, C, t, h, w)`` and fill the buffer with their codes."""
        self.quantizer = MapQuantizer(maps.shape[1], *self.pq_args)
        self.quantizer.train(maps)
        codes = self.quantizer.encode(maps)
        for c, y in zip(codes, labels.tolist()):
            self.classes.known.add(int(y))
            self.buffer.add(c, int(y))
        self.top.ensure_classes(int(labels.max()) + 1)

    def _quantizer(self) -> MapQuantizer:
        if self.quantizer is None:
            raise RuntimeError("REMIND: call fit_base on base-phase maps before streaming (it trains the quantiser)")
        return self.quantizer

    def update(self, maps: torch.Tensor, y: int) -> None:
        """Learn one example: its map ``(C, t, h, w)`` and class ``y``."""
        y = int(y)
        self.classes.admit(y)
        self.top.ensure_classes(y + 1)
        q = self._quantizer()
        codes = q.encode(maps[None])
        batch_codes, batch_y = codes, torch.tensor([y])
        if len(self.buffer):
            old_codes, old_y = self.buffer.sample(self.replay_size)
            batch_codes, batch_y = torch.cat([codes, old_codes]), torch.cat([batch_y, old_y])
        x = random_resized_crop(q.decode(batch_codes), self.crop_min_scale, self.rng)
        x, soft = mixup(x, batch_y, self.top.num_classes, self.mixup_alpha, self.rng)
        self.top.step(x, soft, soft=True)
        self.buffer.add(codes[0], y)

    def scores(self, maps: torch.Tensor) -> torch.Tensor:
        """``(N, C, t, h, w)`` maps (quantised as in training) -> ``(N, K)`` logits (unknown classes ``-inf``)."""
        q = self._quantizer()
        return self.classes.mask(self.top.scores(q.decode(q.encode(maps))))

    def memory_bytes(self) -> int:
        """The replay buffer's bytes, the codebooks and the trainable top layers."""
        return self.buffer.used + (self.quantizer.nbytes() if self.quantizer else 0) + parameter_bytes(self.top.module)
