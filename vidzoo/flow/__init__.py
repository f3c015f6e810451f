"""Optical flow extraction and storage for the two-stream family (reading it is ``vidzoo.data``'s ``"flow"`` decoder).

* :mod:`vidzoo.flow.extraction`: TV-L1 / Farneback / DIS extraction for a dataset (``vidzoo-extract-flow``).
* :mod:`vidzoo.flow.tvl1`: TV-L1 as a batched PyTorch program ``(B, 1, H, W) x 2 -> (B, 2, H, W)``, CPU or GPU.
* :mod:`vidzoo.flow.torch_backend`: the tool's ``tvl1_torch`` algorithm (device, batches, decoding thread).
* :mod:`vidzoo.flow.storage`: the quantised JPEG layout and its exact (de)quantisation.
"""
