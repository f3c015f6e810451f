"""Optical flow for the two-stream family.

* :mod:`vidzoo.flow.extraction`: TV-L1 / Farneback / DIS extraction for a dataset (``vidzoo-extract-flow``).
* :mod:`vidzoo.flow.tvl1`: TV-L1 as a batched PyTorch program ``(B, 1, H, W) x 2 -> (B, 2, H, W)``, CPU or GPU.
* :mod:`vidzoo.flow.torch_backend`: the tool's ``tvl1_torch`` algorithm (device, batches, decoding thread).
* :mod:`vidzoo.flow.storage`: the quantised JPEG layout and its exact (de)quantisation.
* :mod:`vidzoo.flow.stacks`: the ``"flow"`` decoder backend (``(L, H, W, 2)`` pixel displacements).
* :mod:`vidzoo.flow.transforms`: crops/flips shared by flow and RGB (a flip negates x), mean-flow subtraction.
* :mod:`vidzoo.flow.dataset`: :func:`~vidzoo.flow.dataset.build_flow_dataset` for temporal / fused streams.
* :mod:`vidzoo.flow.plots`: colour-wheel visualisation of flow fields.
"""
