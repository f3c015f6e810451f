"""``trainer.batch_size=auto``: the largest training batch that fits in accelerator memory."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def largest_fitting(fits: Callable[[int], bool], start: int = 2, limit: int = 4096) -> int:
    """Largest ``n <= limit`` with ``fits(n)``, assuming ``fits`` is monotone (true up to some size).

    Doubles from ``start`` until a size fails, then bisects between the last success and the
    failure: O(log n) trial steps. Returns 0 when not even ``1`` fits.
    """
    if not fits(1):
        return 0
    good, n = 1, max(start, 2)
    while n <= limit and fits(n):
        good, n = n, n * 2
    bad = min(n, limit + 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    return good


def cuda_step_fits(model: nn.Module, sample_shape: tuple[int, ...], num_classes: int, device: torch.device,
                   autocast: Callable, memory_format=torch.contiguous_format) -> Callable[[int], bool]:
    """A ``fits(n)`` predicate that runs one forward + backward of batch ``n`` and reports OOM as False."""

    def fits(n: int) -> bool:
        try:
            x = torch.randn(n, *sample_shape, device=device)
            if x.dim() == 5:
                x = x.contiguous(memory_format=memory_format)
            y = torch.randint(0, num_classes, (n,), device=device)
            with autocast():
                loss = nn.functional.cross_entropy(model(x).float(), y)
            loss.backward()
            model.zero_grad(set_to_none=True)
            torch.cuda.synchronize(device)
            return True
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            model.zero_grad(set_to_none=True)
            torch.cuda.empty_cache()

    return fits


def find_batch_size(model: nn.Module, sample_shape: tuple[int, ...], num_classes: int, device: torch.device,
                    autocast: Callable, headroom: float = 0.9, limit: int = 4096,
                    memory_format=torch.contiguous_format) -> int:
    """Largest batch whose training step fits on ``device``, times ``headroom`` (kept for the optimizer
    state and allocator fragmentation). Needs a CUDA device."""
    if device.type != "cuda":
        raise ValueError("trainer.batch_size=auto measures accelerator memory and needs a CUDA device; "
                         "set data.batch_size on CPU")
    model.train()
    n = largest_fitting(cuda_step_fits(model, sample_shape, num_classes, device, autocast, memory_format), limit=limit)
    if n == 0:
        raise RuntimeError(f"not even a batch of 1 of shape {sample_shape} fits on {device}")
    return max(1, int(n * headroom))
