"""TV-L1 optical flow as a batched PyTorch program (no compiled extension; CPU or any GPU).

``TVL1(TVL1Params(...))(i0, i1)`` maps gray batches ``(B, 1, H, W)`` to flow ``(B, 2, H, W)``,
following OpenCV's ``cv2.optflow.DualTVL1OpticalFlow`` (same parameters, same steps).
Imports only torch.
"""

from vidzoo.flow.tvl1.solver import TVL1, TVL1Params, tvl1_flow

__all__ = ["TVL1", "TVL1Params", "tvl1_flow"]
