"""vidzoo.pools.pool_map: the same results inline and in worker processes, and no worker outlives the loop."""

from __future__ import annotations

import os
import time

import pytest

from vidzoo.pools import pool_map


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_results_match_the_inputs_in_order(workers):
    out = list(pool_map(_square_and_pid, list(range(7)), workers, chunksize=1))
    assert [r for r, _ in out] == [x * x for x in range(7)]
    in_here = {pid for _, pid in out} == {os.getpid()}
    assert in_here == (workers <= 1)


def test_unordered_yields_every_result():
    assert sorted(r for r, _ in pool_map(_square_and_pid, list(range(9)), 2, ordered=False)) == [x * x for x in range(9)]


def test_stopping_early_terminates_the_workers():
    it = pool_map(_square_and_pid, list(range(50)), 2, chunksize=1)
    pids = {next(it)[1], next(it)[1]}
    it.close()  # the caller stops reading: the pool is terminated
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a reaped-late zombie is not alive
        return f.read().split(")")[-1].split()[0] != "Z"
