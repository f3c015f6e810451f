"""Extract clip features: python tools/extract_features.py checkpoint=PATH data=VIDEOS output=DIR layer=fc6.

Same as the ``vidzoo-extract-features`` console script; the logic lives in :mod:`vidzoo.interop`.
"""

from vidzoo.interop.cli import extract_features_main

if __name__ == "__main__":
    extract_features_main()
