"""Ji et al., "3D Convolutional Neural Networks for Human Action Recognition" (ICML 2010, TPAMI 2013).

A hybrid of hand-crafted and learned features. Layer spec for 7 frames of 60x40 (H x W):

* H1 hardwired, no parameters: per frame gray, gradient-x, gradient-y (7 + 7 + 7 maps) and per
  consecutive pair optical flow x, y (6 + 6 maps): 33 maps in 5 channel groups.
* C2: 7x7x3 (7x7 spatial, 3 frames) 3D convolutions applied to each channel group separately, two
  kernel sets per group -> 2 x 23 maps of 54x34.
* S3: 2x2 subsampling -> 27x17.
* C4: 7x6x3 3D convolutions on each (group, set) stream separately, three kernels each -> 6 x 13
  maps of 21x12.
* S5: 3x3 subsampling -> 7x4.
* C6: 7x4 2D convolution over all 78 maps -> 128 features; a linear layer gives the classes.

Implementation notes and choices:

* Separate kernels per channel group are grouped convolutions: gray/grad-x/grad-y share a frame
  count and form one 3-group conv, flow-x/flow-y (one frame fewer) a 2-group conv. They are
  computed as dense block-diagonal 2D convolutions over unfolded time windows (same result, faster
  on CPUs; see ``grouped_temporal_conv``).
* Subsampling layers are LeCun-style: average pooling followed by a trainable coefficient and
  bias per feature map (a map is one channel at one time position), which is what makes the
  paper's S3/S5 counts 92 and 156. S5 is an adaptive average pool onto the C6 kernel grid, which
  is exactly 3x3 pooling for the paper's input and lets ``ji3d_small`` take 56x56 crops.
* tanh after C2, C4 and C6 (the paper's nonlinearity).
* Parameter count: ours is 285,605 for 3 classes. The 295,458 often quoted for this net counts
  one C6 bias per (input map, output map) pair (78 x 128 instead of 128) and no output-layer
  biases (3); 285,605 + 78*128 - 128 - 3 = 295,458.
* Optical flow: OpenCV Farneback (default) or DIS on the CPU, computed under ``no_grad`` in the
  forward pass from the de-normalised frames (the paper does not fix the flow algorithm). Precomputed
  flow can be given with ``{"rgb": (B,3,T,H,W), "flow": (B,2,T-1,H,W)}`` in pixels.
* The model receives normalised RGB; ``mean``/``std`` kwargs undo the normalisation. The defaults
  are the Kinetics statistics used by torchvision's video models; pass the data pipeline's values
  if it normalises differently.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vidzoo.models.registry import register_model

PAPER = "Ji et al. 2010/2013, ICML/TPAMI"
FAMILY = "Ji 3D CNN"

DEFAULT_MEAN = (0.43216, 0.394666, 0.37645)
DEFAULT_STD = (0.22803, 0.22145, 0.216989)
FLOW_METHODS = ("farneback", "dis")
# ITU-R BT.601 luma weights (what cv2.COLOR_RGB2GRAY uses).
LUMA = (0.299, 0.587, 0.114)


def _flow_pair(prev: np.ndarray, nxt: np.ndarray, method: str) -> np.ndarray:
    """Dense flow ``(H, W, 2)`` float32 in pixels, prev -> next, from two uint8 gray frames."""
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(prev, nxt, None)


def optical_flow(gray: torch.Tensor, method: str = "farneback") -> torch.Tensor:
    """Flow between consecutive frames of ``gray`` ``(B, T, H, W)`` in [0, 1] -> ``(B, 2, T-1, H, W)``.

    Runs OpenCV on the CPU; channel 0 is x (rightwards), channel 1 is y (downwards), in pixels.
    """
    if method not in FLOW_METHODS:
        raise ValueError(f"ji3d: unknown flow method {method!r}; choose one of {', '.join(FLOW_METHODS)}")
    frames = (gray.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    b, t, h, w = frames.shape
    out = np.empty((b, t - 1, h, w, 2), np.float32)
    for i in range(b):
        for j in range(t - 1):
            out[i, j] = _flow_pair(frames[i, j], frames[i, j + 1], method)
    return torch.from_numpy(out).permute(0, 4, 1, 2, 3).to(gray.device)


class Hardwired(nn.Module):
    """H1: fixed gray, gradient and flow channels; nothing in it is trained.

    ``(B, 3, T, H, W)`` normalised RGB -> appearance ``(B, 3, T, H, W)`` (gray, grad-x, grad-y) and
    motion ``(B, 2, T-1, H, W)`` (flow-x, flow-y). Gray is BT.601 luma in [0, 1]; gradients are
    central finite differences (one-sided at the border, ``torch.gradient``) of gray.
    """

    def __init__(
        self,
        mean: Sequence[float] = DEFAULT_MEAN,
        std: Sequence[float] = DEFAULT_STD,
        flow_method: str = "farneback",
    ) -> None:
        super().__init__()
        if flow_method not in FLOW_METHODS:
            raise ValueError(f"ji3d: unknown flow_method {flow_method!r}; choose one of {', '.join(FLOW_METHODS)}")
        self.flow_method = flow_method
        view = (1, 3, 1, 1, 1)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(view), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(view), persistent=False)
        self.register_buffer("luma", torch.tensor(LUMA, dtype=torch.float32).view(view), persistent=False)

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            x = rgb.float() * self.std + self.mean
            gray = (x * self.luma).sum(1)  # (B, T, H, W)
            grad_y, grad_x = torch.gradient(gray, dim=(2, 3))
            appearance = torch.stack([gray, grad_x, grad_y], 1)
            if flow is None:
                flow = optical_flow(gray, self.flow_method)
        return appearance.to(rgb.dtype), flow.to(rgb.dtype)


def grouped_temporal_conv(x: torch.Tensor, conv: nn.Conv3d) -> torch.Tensor:
    """``conv(x)`` for a grouped, unpadded, stride-1 ``Conv3d``, computed as one dense 2D convolution.

    Time windows are unfolded into channels and the grouped kernel becomes a block-diagonal dense
    one: on CPUs this is several times faster than PyTorch's grouped 3D convolution with 1-3 input
    channels per group, and it gives the same result. ``(B, C, T, H, W) -> (B, C', T-kt+1, H', W')``.
    """
    b, c, t, h, w = x.shape
    cout, cin_g, kt, kh, kw = conv.weight.shape
    groups = conv.groups
    t_out = t - kt + 1
    cols = x.unfold(2, kt, 1).permute(0, 2, 1, 5, 3, 4).reshape(b * t_out, c * kt, h, w)
    blocks = conv.weight.reshape(groups, cout // groups, cin_g * kt * kh * kw)
    weight = torch.block_diag(*blocks).reshape(cout, c * kt, kh, kw)
    y = F.conv2d(cols, weight, conv.bias)
    return y.reshape(b, t_out, cout, *y.shape[-2:]).transpose(1, 2)


class Subsample(nn.Module):
    """LeCun-style subsampling: average pool onto ``grid``, then a trainable coefficient and bias per map.

    A map is one channel at one time position, so ``(B, C, T, H, W)`` has ``C * T`` maps.
    """

    def __init__(self, channels: int, frames: int, grid: tuple[int, int] | None = None, kernel: int = 2) -> None:
        super().__init__()
        self.grid = grid
        self.kernel = kernel
        self.weight = nn.Parameter(torch.ones(channels, frames, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels, frames, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid is None:
            x = F.avg_pool3d(x, (1, self.kernel, self.kernel))
        else:
            x = F.adaptive_avg_pool3d(x, (x.shape[2], *self.grid))
        return x * self.weight + self.bias


class Ji3D(nn.Module):
    """Ji et al. 3D CNN: ``(B, 3, T, H, W)`` or ``{"rgb", "flow"}`` -> ``(B, num_classes)``.

    ``num_frames`` is fixed at construction (it sets the number of C6 input maps); ``sets2`` and
    ``sets4`` are the kernels per stream in C2 (2) and C4 (3); ``c6_kernel`` is the C6 grid (7x4).
    """

    def __init__(
        self,
        num_classes: int,
        num_frames: int = 7,
        sets2: int = 2,
        sets4: int = 3,
        features: int = 128,
        c6_kernel: Sequence[int] = (7, 4),
        mean: Sequence[float] = DEFAULT_MEAN,
        std: Sequence[float] = DEFAULT_STD,
        flow_method: str = "farneback",
        name: str = "ji3d",
    ) -> None:
        super().__init__()
        if num_frames < 6:
            raise ValueError(f"{name}: num_frames must be >= 6 (two 3-frame temporal convs on the flow maps), got {num_frames}")
        self.name = name
        self.num_frames = num_frames
        grid = (int(c6_kernel[0]), int(c6_kernel[1]))
        self.hardwired = Hardwired(mean, std, flow_method)
        t_app, t_mot = num_frames, num_frames - 1
        self.c2_app = nn.Conv3d(3, 3 * sets2, (3, 7, 7), groups=3)
        self.c2_mot = nn.Conv3d(2, 2 * sets2, (3, 7, 7), groups=2)
        self.s3_app = Subsample(3 * sets2, t_app - 2)
        self.s3_mot = Subsample(2 * sets2, t_mot - 2)
        self.c4_app = nn.Conv3d(3 * sets2, 3 * sets2 * sets4, (3, 7, 6), groups=3 * sets2)
        self.c4_mot = nn.Conv3d(2 * sets2, 2 * sets2 * sets4, (3, 7, 6), groups=2 * sets2)
        self.s5_app = Subsample(3 * sets2 * sets4, t_app - 4, grid)
        self.s5_mot = Subsample(2 * sets2 * sets4, t_mot - 4, grid)
        maps = sets2 * sets4 * (3 * (t_app - 4) + 2 * (t_mot - 4))
        self.c6 = nn.Conv2d(maps, features, grid)
        self.fc = nn.Linear(features, num_classes)

    def _split_input(self, x: torch.Tensor | dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        flow = None
        if isinstance(x, dict):
            if "rgb" not in x:
                raise ValueError(f"{self.name}: dict input needs an 'rgb' entry (and optionally 'flow'), got {sorted(x)}")
            x, flow = x["rgb"], x.get("flow")
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[2] != self.num_frames:
            raise ValueError(
                f"{self.name}: expected RGB clips (B, 3, {self.num_frames}, H, W), got {tuple(x.shape)}; "
                f"set data.num_frames={self.num_frames} or build with num_frames={x.shape[2] if x.dim() == 5 else '?'}"
            )
        if flow is not None:
            want = (x.shape[0], 2, self.num_frames - 1, *x.shape[-2:])
            if tuple(flow.shape) != want:
                raise ValueError(f"{self.name}: flow must be (B, 2, T-1, H, W) = {want}, got {tuple(flow.shape)}")
        return x, flow

    def forward(self, x: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        rgb, flow = self._split_input(x)
        app, mot = self.hardwired(rgb, flow)
        app = self.s3_app(torch.tanh(grouped_temporal_conv(app, self.c2_app)))
        mot = self.s3_mot(torch.tanh(grouped_temporal_conv(mot, self.c2_mot)))
        app = self.s5_app(torch.tanh(grouped_temporal_conv(app, self.c4_app)))
        mot = self.s5_mot(torch.tanh(grouped_temporal_conv(mot, self.c4_mot)))
        maps = torch.cat([app.flatten(1, 2), mot.flatten(1, 2)], 1)  # (B, 78, 7, 4) for the paper's input
        return self.fc(torch.tanh(self.c6(maps)).flatten(1))


@register_model("ji3d", input_shape=(3, 7, 60, 40), family=FAMILY, paper=PAPER)
def ji3d(num_classes: int = 3, **kwargs) -> nn.Module:
    """The paper's net: 7 frames of 60x40 (H x W); 3 classes in the TRECVID experiments."""
    return Ji3D(num_classes, **{"num_frames": 7, "name": "ji3d", **kwargs})


@register_model("ji3d_small", input_shape=(3, 8, 56, 56), family=FAMILY, paper=PAPER)
def ji3d_small(num_classes: int = 9, **kwargs) -> nn.Module:
    """CPU variant: 8 frames of 56x56, C6 over a 4x4 grid (S5 adaptive), otherwise the paper's layers."""
    return Ji3D(num_classes, **{"num_frames": 8, "c6_kernel": (4, 4), "name": "ji3d_small", **kwargs})
