"""Export a checkpoint: python tools/export.py checkpoint=PATH format=onnx [output=FILE].

Same as the ``vidzoo-export`` console script; the logic lives in :mod:`vidzoo.interop`.
"""

from vidzoo.interop.cli import export_main

if __name__ == "__main__":
    export_main()
