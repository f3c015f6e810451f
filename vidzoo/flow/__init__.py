"""Optical flow for the two-stream family.

* :mod:`vidzoo.flow.extraction`: TV-L1 / Farneback / DIS extraction for a dataset (``vidzoo-extract-flow``).
* :mod:`vidzoo.flow.storage`: the quantised JPEG layout and its exact (de)quantisation.
* :mod:`vidzoo.flow.stacks`: the ``"flow"`` decoder backend (``(L, H, W, 2)`` pixel displacements).
* :mod:`vidzoo.flow.transforms`: crops/flips shared by flow and RGB (a flip negates x), mean-flow subtraction.
* :mod:`vidzoo.flow.dataset`: :func:`~vidzoo.flow.dataset.build_flow_dataset` for temporal / fused streams.
* :mod:`vidzoo.flow.plots`: colour-wheel visualisation of flow fields.
"""
