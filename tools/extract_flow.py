"""Extract dense optical flow for a dataset: ``python tools/extract_flow.py VIDEO_ROOT --flow-root OUT [--algorithm tvl1]``.

Same as the ``vidzoo-extract-flow`` console script; the logic lives in :mod:`vidzoo.flow.extraction`.
"""

from vidzoo.cli import extract_flow_main

if __name__ == "__main__":
    extract_flow_main()
