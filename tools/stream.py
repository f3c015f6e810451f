"""Stream learning on a frozen zoo backbone (Deep SLDA, ExStream, REMIND, baselines), e.g.

    python tools/stream.py streaming=all ordering=class_iid
"""

from vidzoo.streaming.cli import main

if __name__ == "__main__":
    main()
