"""Index a video dataset (and optionally extract JPEG frame folders); the logic is in vidzoo.data.prepare.

    python tools/prepare_dataset.py --source ucf101 --root data/ucf101 --split 1 2 3
    python tools/prepare_dataset.py --source hmdb51 --root data/hmdb51 --frames rawframes --short-side 128

Same as the ``vidzoo-prepare-dataset`` console script.
"""

from vidzoo.cli import prepare_dataset_main

if __name__ == "__main__":
    prepare_dataset_main()
