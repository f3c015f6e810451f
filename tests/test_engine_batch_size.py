"""The batch-size search (the CUDA predicate itself needs a GPU and is exercised by the device benchmark)."""

import pytest
import torch

from vidzoo.engine.batch_size import find_batch_size, largest_fitting


@pytest.mark.parametrize("capacity", [1, 2, 3, 7, 64, 100, 1000])
def test_finds_exact_capacity_with_few_trials(capacity):
    calls = []

    def fits(n):
        calls.append(n)
        return n <= capacity

    assert largest_fitting(fits) == capacity
    assert len(calls) <= 2 * capacity.bit_length() + 2


def test_nothing_fits_and_limit():
    assert largest_fitting(lambda n: False) == 0
    assert largest_fitting(lambda n: True, limit=50) == 50


def test_cpu_device_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="data.batch_size"):
        find_batch_size(torch.nn.Linear(2, 2), (2,), 2, torch.device("cpu"), autocast=None)
