"""DataLoader construction: seeded shuffling, per-rank shards under torch.distributed, clip collation.

Shuffling is a permutation drawn from ``np.random.default_rng([seed, epoch])``, the same on every rank, so
ranks split one global order into disjoint shards; ``set_epoch(loader, epoch)`` advances both the sampler and
the dataset's augmentation draws (call it before iterating each epoch).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from vidzoo.data.dataset import collate_clips

__all__ = ["ShardedSampler", "build_loader", "set_epoch"]


class ShardedSampler(Sampler[int]):
    """Indices of one rank's shard of a (seeded, per-epoch) permutation of ``range(n)``.

    With ``even=True`` every rank gets the same number of indices (the order wraps around to pad), as DDP
    training needs; with ``even=False`` shards may differ by one and no sample is seen twice (evaluation).
    """

    def __init__(self, n: int, *, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1, even: bool = True):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world size {world_size}")
        self.n, self.shuffle, self.seed = int(n), bool(shuffle), int(seed)
        self.rank, self.world_size, self.even = int(rank), int(world_size), bool(even)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _order(self) -> np.ndarray:
        if self.shuffle:
            return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        return np.arange(self.n)

    def __iter__(self) -> Iterator[int]:
        order = self._order()
        if self.even and self.n:
            total = math.ceil(self.n / self.world_size) * self.world_size
            order = np.resize(order, total)  # wraps around
        return iter(order[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        if self.even:
            return math.ceil(self.n / self.world_size)
        return len(range(self.rank, self.n, self.world_size))


def _seed_worker(worker_id: int) -> None:
    """Seed the global RNGs of a worker from torch's per-worker seed (itself derived from the loader's generator)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def build_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    pin_memory: bool = False,
    persistent_workers: bool = False,
    prefetch_factor: int | None = None,
    drop_last: bool = False,
    distributed: bool | None = None,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader over ``dataset`` yielding ``collate_clips`` batches.

    ``distributed=None`` shards automatically when ``torch.distributed`` is initialised; ``True`` requires it.
    Training shards (``shuffle=True``) are padded to equal length across ranks; evaluation shards are not.
    """
    initialised = dist.is_available() and dist.is_initialized()
    if distributed and not initialised:
        raise RuntimeError("build_loader(distributed=True) needs torch.distributed.init_process_group() first")
    use_dist = initialised if distributed is None else bool(distributed)
    rank, world = (dist.get_rank(), dist.get_world_size()) if use_dist else (0, 1)
    sampler = ShardedSampler(len(dataset), shuffle=shuffle, seed=seed, rank=rank, world_size=world, even=shuffle)
    generator = torch.Generator()
    generator.manual_seed(int(seed) + rank)
    kwargs: dict[str, Any] = {}
    if num_workers > 0:
        kwargs["persistent_workers"] = persistent_workers
        if prefetch_factor is not None:
            kwargs["prefetch_factor"] = prefetch_factor
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_clips,
        pin_memory=pin_memory,
        drop_last=drop_last,
        worker_init_fn=_seed_worker,
        generator=generator,
        **kwargs,
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Advance shuffling and augmentation of ``loader`` to ``epoch`` (before ``iter(loader)``)."""
    for obj in (loader.sampler, loader.dataset):
        if hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)
