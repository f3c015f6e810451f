"""Benchmarks: one module per suite, each with ``main(argv)`` and ``QUICK_ARGS``; run through tools/benchmark.py.

``--quick`` appends the suite's ``QUICK_ARGS`` (argparse keeps the last value of a repeated option), turning any
command line into a seconds-long smoke run of the same code path; its numbers mean nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

__all__ = ["SUITES", "expand_quick", "run"]

SUITES = ("data", "flow", "models", "train")


def expand_quick(suite: str, argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--quick`` replaced by the suite's ``QUICK_ARGS`` appended at the end."""
    args = list(argv)
    if "--quick" not in args:
        return args
    module = importlib.import_module(f"vidzoo.benchmarks.{suite}")
    return [a for a in args if a != "--quick"] + list(module.QUICK_ARGS)


def run(argv: Sequence[str]) -> None:
    """``argv[0]`` names the suite, the rest are its options (``--quick`` allowed)."""
    if not argv or argv[0] not in SUITES:
        raise SystemExit(f"usage: benchmark.py {{{'|'.join(SUITES)}}} [--quick] [options]  (see --help of each)")
    module = importlib.import_module(f"vidzoo.benchmarks.{argv[0]}")
    module.main(expand_quick(argv[0], argv[1:]))
