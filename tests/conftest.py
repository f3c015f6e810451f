"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Under pytest-xdist (`make test` runs `-n auto`), the workers share the cores: one compute thread per worker (and
# per subprocess it starts) instead of every worker starting one thread per core.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _threads = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    os.environ["OMP_NUM_THREADS"] = _threads
    os.environ["MKL_NUM_THREADS"] = _threads
    import torch

    torch.set_num_threads(int(_threads))

#: Parameters of the tiny synthetic dataset every test shares (9 classes x (3 train + 2 test) videos).
TINY_SYNTHETIC = {"seed": 0, "train_per_class": 3, "test_per_class": 2, "size": (32, 40), "num_frames": 16, "fps": 25}


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic-motions dataset, generated once per test session.

    Returns the root ``Path`` holding ``videos/<Class>/*.avi`` and ``splits/{classInd,trainlist01,testlist01}.txt``
    (UCF101 layout; 9 classes, 3 train + 2 test videos each, 16 frames of 32x40). Treat it as read-only.
    """
    from vidzoo.data.synthetic import generate_synthetic_motions

    return generate_synthetic_motions(tmp_path_factory.mktemp("synthetic") / "motions", **TINY_SYNTHETIC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules with a test marked ``subprocess`` or ``slow`` first, the rest after, each in collection order.

    Under pytest-xdist the long tests then start early and the short ones fill the workers' last minutes, so the
    suite's wall time stays close to its CPU time divided by the workers; a module's tests stay together, so its
    module-scoped fixtures are made once."""
    heavy = {item.module for item in items if item.get_closest_marker("subprocess") or item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module not in heavy)
