"""Benchmarks that print numbers next to a baseline run in the same process.

    python tools/benchmark.py data   [options]   # decoders vs pytorchvideo
    python tools/benchmark.py flow   [options]   # TV-L1 / Farneback / DIS frames/s
    python tools/benchmark.py models [options]   # our models vs torchvision, forward time
    python tools/benchmark.py train  [options]   # trainer fast paths vs fp32 eager
    python tools/benchmark.py metrics [options]  # vidzoo.eval HOTA/CLEAR vs TrackEval, sequences/s
    python tools/benchmark.py streaming [options]  # stream learners' updates/s vs fine-tuning

Any of them with --quick: a seconds-long smoke run of the same command (numbers mean nothing).
"""

import sys

from vidzoo.benchmarks import run

if __name__ == "__main__":
    run(sys.argv[1:])
