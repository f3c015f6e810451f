"""Import published weights: python tools/import_weights.py SOURCE FILE --output DIR [--model M].

Same as the ``vidzoo-import-weights`` console script; the logic lives in :mod:`vidzoo.interop`.
"""

from vidzoo.interop.cli import import_weights_main

if __name__ == "__main__":
    import_weights_main()
