"""REMIND's memory: product-quantised mid-level feature maps in a replay buffer with a fixed byte budget.

A map ``(C, t, h, w)`` is ``t*h*w`` vectors of ``C`` channels; each vector is product-quantised by ``faiss``
(``num_subvectors`` codebooks of ``2**nbits`` centroids, trained once on the base phase's maps) into
``code_size`` bytes. An entry of the buffer is one example's codes plus its label (8 bytes). When adding an
entry would exceed the budget, random entries of the class holding the most are evicted first (REMIND's rule).
"""

from __future__ import annotations

import faiss
import numpy as np
import torch

from vidzoo.errors import ConfigValueError

LABEL_BYTES = 8


class MapQuantizer:
    """Product quantiser for ``(N, C, t, h, w)`` maps: ``encode`` -> ``(N, t*h*w, code_size)`` uint8."""

    def __init__(self, channels: int, num_subvectors: int = 8, nbits: int = 8) -> None:
        if channels % num_subvectors:
            raise ConfigValueError(f"streaming.remind.num_subvectors={num_subvectors} must divide the {channels} "
                                   f"channels of the REMIND layer's maps; pick a divisor of {channels}")
        self.channels = channels
        self.pq = faiss.ProductQuantizer(channels, num_subvectors, nbits)
        self.pq.cp.min_points_per_centroid = 1  # small base sets are fine; silences faiss's size warning
        self.map_shape: tuple[int, ...] = ()

    @staticmethod
    def _vectors(maps: torch.Tensor) -> np.ndarray:
        c = maps.shape[1]
        return np.ascontiguousarray(maps.detach().float().movedim(1, -1).reshape(-1, c).cpu().numpy())

    def train(self, maps: torch.Tensor) -> None:
        """Fit the codebooks on base-phase maps ``(N, C, t, h, w)``."""
        vectors = self._vectors(maps)
        needed = 1 << self.pq.nbits
        if len(vectors) < needed:
            raise ConfigValueError(f"REMIND's quantiser needs >= {needed} base-phase vectors to train "
                                   f"{needed} centroids, got {len(vectors)}; lower streaming.remind.nbits or add "
                                   f"base videos")
        self.map_shape = tuple(maps.shape[1:])
        self.pq.train(vectors)

    def encode(self, maps: torch.Tensor) -> torch.Tensor:
        """``(N, C, t, h, w)`` -> uint8 codes ``(N, t*h*w, code_size)``."""
        codes = self.pq.compute_codes(self._vectors(maps))
        return torch.from_numpy(codes).reshape(len(maps), -1, self.pq.code_size)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """uint8 codes ``(N, L, code_size)`` -> reconstructed maps ``(N, C, t, h, w)`` float32."""
        n = codes.shape[0]
        flat = np.ascontiguousarray(codes.reshape(-1, self.pq.code_size).numpy())
        vectors = torch.from_numpy(self.pq.decode(flat))
        c, *spatial = self.map_shape
        return vectors.reshape(n, *spatial, c).movedim(-1, 1).contiguous()

    def nbytes(self) -> int:
        """The codebooks (float32)."""
        return int(faiss.vector_to_array(self.pq.centroids).nbytes)


class ReplayBuffer:
    """Codes and labels of past examples within ``budget_bytes`` (codes + 8 bytes of label each)."""

    def __init__(self, budget_bytes: int, seed: int = 0) -> None:
        self.budget = int(budget_bytes)
        self.entries: dict[int, list[torch.Tensor]] = {}
        self.used = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())

    @staticmethod
    def entry_bytes(codes: torch.Tensor) -> int:
        return codes.numel() * codes.element_size() + LABEL_BYTES

    def add(self, codes: torch.Tensor, label: int) -> None:
        """Store one example's codes ``(L, code_size)``, evicting from the largest class until it fits."""
        size = self.entry_bytes(codes)
        if size > self.budget:
            raise ConfigValueError(f"streaming.remind.buffer_bytes={self.budget} is smaller than one example "
                                   f"({size} bytes); raise it")
        while self.used + size > self.budget:
            largest = max(self.entries, key=lambda k: len(self.entries[k]))
            victim = self.entries[largest].pop(int(self.rng.integers(len(self.entries[largest]))))
            self.used -= self.entry_bytes(victim)
            if not self.entries[largest]:
                del self.entries[largest]
        self.entries.setdefault(int(label), []).append(codes.clone())
        self.used += size

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` entries drawn uniformly (with replacement): codes ``(n, L, code_size)`` and labels ``(n,)``."""
        flat = [(k, c) for k, items in self.entries.items() for c in items]
        pick = self.rng.integers(len(flat), size=n)
        return torch.stack([flat[i][1] for i in pick]), torch.tensor([flat[i][0] for i in pick])
