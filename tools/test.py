"""Evaluate a checkpoint on the held-out split, e.g.

    python tools/test.py checkpoint=runs/my-run data.test_clips=10 data.test_crops=3
"""

from vidzoo.cli import test_main

if __name__ == "__main__":
    test_main()
