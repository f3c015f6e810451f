"""Benchmarks: one module per suite, each with ``main(argv)`` and ``QUICK_ARGS``; run through tools/benchmark.py.

``--quick`` appends the suite's ``QUICK_ARGS`` (argparse keeps the last value of a repeated option), turning any
command line into a seconds-long smoke run of the same code path; its numbers mean nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["SUITES", "expand_quick", "run"]

SUITES = ("data", "flow", "models", "train", "metrics", "streaming")


def expand_quick(suite: str, argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--quick`` replaced by the suite's ``QUICK_ARGS`` appended at the end."""
    args = list(argv)
    if "--quick" not in args:
        return args
    module = importlib.import_module(f"vidzoo.benchmarks.{suite}")
    return [a for a in args if a != "--quick"] + list(module.QUICK_ARGS)


def run(argv: Sequence[str]) -> None:
    """``argv[0]`` names the suite, the rest are its options (``--quick`` allowed); another suite name is one
    line on stderr and exit status 2."""
    if not argv or argv[0] not in SUITES:
        print(f"benchmark.py: error: the first argument is a suite, one of {', '.join(SUITES)} (got "
              f"{argv[0] if argv else 'none'}); e.g. benchmark.py models --quick", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"vidzoo.benchmarks.{argv[0]}")
    module.main(expand_quick(argv[0], argv[1:]))
