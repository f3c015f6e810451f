"""Benchmarks that print numbers next to a baseline run in the same process.

    python tools/benchmark.py data   [options]   # decoders vs pytorchvideo
    python tools/benchmark.py flow   [options]   # TV-L1 / Farneback / DIS frames/s
    python tools/benchmark.py models [options]   # our models vs torchvision, forward time
    python tools/benchmark.py train  [options]   # trainer fast paths vs fp32 eager
    python tools/benchmark.py metrics [options]  # vidzoo.eval HOTA/CLEAR vs TrackEval, sequences/s
    python tools/benchmark.py streaming [options]  # stream learners' updates/s vs fine-tuning
"""

from __future__ import annotations

import importlib
import sys

SUITES = ("data", "flow", "models", "train", "metrics", "streaming")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in SUITES:
        print(f"benchmark.py: error: the first argument is a suite, one of {', '.join(SUITES)} (got "
              f"{argv[0] if argv else 'none'}); e.g. benchmark.py models --help", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(f"vidzoo.benchmarks.{argv[0]}")
    module.main(argv[1:])


if __name__ == "__main__":
    main()
