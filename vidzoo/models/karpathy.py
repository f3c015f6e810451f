"""Karpathy et al. 2014, "Large-scale Video Classification with Convolutional Neural Networks" (CVPR).

The fusion family: one AlexNet-like tower, extended in time in different ways.

Tower (section 3.1 of the paper, full size, 170x170 input):
``C(96,11,3)-N-P-C(256,5,1)-N-P-C(384,3,1)-C(384,3,1)-C(256,3,1)-P-FC(4096)-FC(4096)-classes``,
C(d, f, s) = d filters of f x f, stride s; P = non-overlapping 2x2 max pooling; N = local response
normalisation with Krizhevsky's form and k=2, n=5, alpha=1e-4, beta=0.5 (values as the paper states them).

What the paper does not state and we chose (documented in the README table too):

* padding: none in conv1, "same" in conv2..conv5 and ceil-mode pooling. With these, the full-frame
  tower on 170x170 ends in 7x7x256 and the multiresolution streams on 89x89 (last pooling removed)
  also end in 7x7x256, which is exactly what the paper says about the multires streams.
* ReLU after every conv and hidden FC, dropout 0.5 before each hidden FC (AlexNet's recipe).
* PyTorch's ``LocalResponseNorm`` divides alpha by n, so alpha=n*1e-4 reproduces the paper's form.

Temporal variants (every model reads ``(B, 3, T, H, W)``):

* ``single``: one frame; the model uses the middle frame ``T // 2``.
* ``early``: conv1 spans ``T=10`` frames (11x11x3x10 filters); the central 10 frames are used.
* ``late``: two single-frame towers with shared weights on two frames 15 apart, merged at FC6; the
  model uses the first and the last frame, so feed 16 consecutive frames (or a clip whose first and
  last frame are the desired distance apart).
* ``slow``: conv1 temporal extent 4, stride 2 on 10 frames (4 responses), conv2 and conv3 temporal
  extent 2, stride 2, so conv3 sees all 10 frames; the central 10 frames are used.
* ``multires``: 178x178 input; a context stream on the whole frame at half resolution (89x89, 2x2
  area downsampling) and a fovea stream on the centre 89x89 crop at full resolution, both identical
  towers without the last pooling layer, concatenated before FC6. The tower can be any of the
  temporal variants above (``fusion=``); the paper's "Single-Frame + Multires" row is
  ``fusion="single"``, the seed article's final model is multires streams with slow fusion.

``*_small`` variants keep the temporal structure (same temporal kernels and strides, 10 frames)
and the spatial kernels/strides, but scale widths down by 4 (FC 512), use batch norm after every
conv instead of LRN, drop dropout, and run on 56x56 crops so they train on a CPU (``norm="lrn"``,
``dropout=0.5`` restore the paper's choices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vidzoo.models.registry import register_model

PAPER = "Karpathy et al. 2014, CVPR"
FAMILY = "Karpathy fusion"

FULL_WIDTHS = (96, 256, 384, 384, 256)
FULL_FC = 4096
SMALL_WIDTHS = (24, 64, 96, 96, 64)
SMALL_FC = 512

# Spatial geometry of the five conv layers: (kernel, stride, padding).
_SPATIAL = ((11, 3, 0), (5, 1, 2), (3, 1, 1), (3, 1, 1), (3, 1, 1))
# Temporal (kernel, stride) of the five conv layers and the number of frames the tower reads.
_TEMPORAL: dict[str, tuple[tuple[tuple[int, int], ...], int]] = {
    "single": (((1, 1),) * 5, 1),
    "early": (((10, 1),) + ((1, 1),) * 4, 10),
    "late": (((1, 1),) * 5, 2),
    "slow": (((4, 2), (2, 2), (2, 2), (1, 1), (1, 1)), 10),
}
FUSIONS = tuple(_TEMPORAL)


@dataclass(frozen=True)
class TowerSpec:
    """Everything that fixes one tower's shape: widths, temporal layout, input size, last pool."""

    widths: tuple[int, ...]
    fusion: str
    input_size: int
    last_pool: bool = True
    norm: str = "lrn"

    @property
    def temporal(self) -> tuple[tuple[int, int], ...]:
        return _TEMPORAL[self.fusion][0]

    @property
    def frames(self) -> int:
        """Frames the tower reads (late fusion: its two frames)."""
        return _TEMPORAL[self.fusion][1]

    def output_shape(self) -> tuple[int, int, int, int]:
        """``(C, T', H', W')`` of the tower output, computed from the layer geometry."""
        size = self.input_size
        t = self.frames
        for i, ((k, s, p), (kt, st)) in enumerate(zip(_SPATIAL, self.temporal)):
            size = (size + 2 * p - k) // s + 1
            t = (t - kt) // st + 1
            if i in (0, 1) or (i == 4 and self.last_pool):
                size = math.ceil(size / 2)
        if size < 1 or t < 1:
            raise ValueError(f"karpathy tower: input {self.input_size}px/{self.frames} frames is too small")
        return self.widths[-1], t, size, size


NORMS = ("lrn", "batch")


def _check_options(fusion: str, norm: str) -> None:
    if fusion not in _TEMPORAL:
        raise ValueError(f"karpathy: unknown fusion {fusion!r}; choose one of {', '.join(FUSIONS)}")
    if norm not in NORMS:
        raise ValueError(f"karpathy: unknown norm {norm!r}; choose one of {', '.join(NORMS)}")


class Tower(nn.Module):
    """Five conv layers of the Karpathy net as 3D convs; ``(B, 3, T, S, S) -> (B, C, T', S', S')``.

    A 2D layer is a 3D conv with temporal kernel 1, so the same weights act on every frame (this
    is how late fusion shares its tower between the two frames).
    """

    def __init__(self, spec: TowerSpec) -> None:
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        cin = 3
        batch_norm = spec.norm == "batch"
        for i, (cout, (k, s, p), (kt, st)) in enumerate(zip(spec.widths, _SPATIAL, spec.temporal)):
            conv = nn.Conv3d(cin, cout, (kt, k, k), stride=(st, s, s), padding=(0, p, p), bias=not batch_norm)
            layers += [conv, nn.BatchNorm3d(cout)] if batch_norm else [conv]
            layers.append(nn.ReLU(inplace=True))
            if i in (0, 1) and not batch_norm:
                layers.append(nn.LocalResponseNorm(size=5, alpha=5 * 1e-4, beta=0.5, k=2.0))
            if i in (0, 1) or (i == 4 and spec.last_pool):
                layers.append(nn.MaxPool3d((1, 2, 2), ceil_mode=True))
            cin = cout
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def init_weights(module: nn.Module) -> None:
    """He-normal convs and linears, zero biases: the default uniform init leaves this deep,
    normalisation-free stack at chance for many epochs on small data."""
    for m in module.modules():
        if isinstance(m, (nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    last = [m for m in module.modules() if isinstance(m, nn.Linear)][-1]
    nn.init.normal_(last.weight, std=0.01)  # start near uniform class scores


def _classifier(in_features: int, fc: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_features, fc),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(fc, fc),
        nn.ReLU(inplace=True),
        nn.Linear(fc, num_classes),
    )


def select_frames(x: torch.Tensor, fusion: str, name: str) -> torch.Tensor:
    """Pick the frames a tower of ``fusion`` reads from a clip ``(B, C, T, H, W)``.

    single: the middle frame; early/slow: the central 10 frames; late: the first and last frame.
    """
    frames = _TEMPORAL[fusion][1]
    t = x.shape[2]
    if t < frames:
        raise ValueError(f"{name}: needs at least {frames} frames per clip, got {t}; set data.num_frames>={frames}")
    if fusion == "late":
        return x[:, :, [0, t - 1]]
    start = (t - frames) // 2 if fusion != "single" else t // 2
    return x[:, :, start : start + frames]


def _check_input(x: torch.Tensor, size: int, name: str) -> None:
    if x.dim() != 5 or x.shape[1] != 3:
        raise ValueError(f"{name}: expected RGB clips (B, 3, T, H, W), got shape {tuple(x.shape)}")
    if x.shape[-2:] != (size, size):
        raise ValueError(
            f"{name}: expected {size}x{size} frames, got {x.shape[-2]}x{x.shape[-1]}; "
            f"set data.crop_size={size} or build the model with input_size={x.shape[-1]}"
        )


class KarpathyNet(nn.Module):
    """Single-frame / early / late / slow fusion net: ``(B, 3, T, S, S) -> (B, num_classes)``.

    ``last_pool=False`` drops the pooling after conv5 (as the multires towers do): on 56 px CPU inputs the
    paper's geometry leaves a 2x2 map where the paper's 170 px frames leave 7x7, and a 4x4 map keeps more of
    the positions that late fusion compares between its two frames.
    """

    def __init__(
        self,
        num_classes: int,
        fusion: str = "single",
        widths: tuple[int, ...] = FULL_WIDTHS,
        fc: int = FULL_FC,
        input_size: int = 170,
        dropout: float = 0.5,
        norm: str = "lrn",
        last_pool: bool = True,
    ) -> None:
        super().__init__()
        _check_options(fusion, norm)
        self.fusion = fusion
        self.name = f"karpathy_{fusion}"
        spec = TowerSpec(tuple(widths), fusion, input_size, last_pool=last_pool, norm=norm)
        self.tower = Tower(spec)
        self.classifier = _classifier(math.prod(spec.output_shape()), fc, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.tower.spec.input_size, self.name)
        feats = self.tower(select_frames(x, self.fusion, self.name))
        return self.classifier(feats.flatten(1))


class KarpathyMultires(nn.Module):
    """Context + fovea streams: ``(B, 3, T, S, S) -> (B, num_classes)`` with ``S`` even (178 in the paper).

    Context: the whole frame downsampled 2x (2x2 area average); fovea: the centre ``S/2`` crop at
    full resolution. Two towers of the same architecture (not shared), last pooling removed,
    outputs concatenated before FC6.
    """

    def __init__(
        self,
        num_classes: int,
        fusion: str = "single",
        widths: tuple[int, ...] = FULL_WIDTHS,
        fc: int = FULL_FC,
        input_size: int = 178,
        dropout: float = 0.5,
        norm: str = "lrn",
    ) -> None:
        super().__init__()
        _check_options(fusion, norm)
        if input_size % 2:
            raise ValueError(f"karpathy_multires: input_size must be even (178 in the paper), got {input_size}")
        self.fusion = fusion
        self.input_size = input_size
        spec = TowerSpec(tuple(widths), fusion, input_size // 2, last_pool=False, norm=norm)
        self.context = Tower(spec)
        self.fovea = Tower(spec)
        self.classifier = _classifier(2 * math.prod(spec.output_shape()), fc, num_classes, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = "karpathy_multires"
        _check_input(x, self.input_size, name)
        x = select_frames(x, self.fusion, name)
        half = self.input_size // 2
        off = (self.input_size - half) // 2
        context = nn.functional.avg_pool3d(x, (1, 2, 2))
        fovea = x[..., off : off + half, off : off + half]
        feats = torch.cat([self.context(context).flatten(1), self.fovea(fovea).flatten(1)], dim=1)
        return self.classifier(feats)


def _small(kwargs: dict) -> dict:
    """Defaults of the ``*_small`` CPU variants: width / 4, FC 512, batch norm, no dropout, 56x56 crops.

    Batch norm instead of LRN and no dropout: with LRN, or with dropout on the small FC layers, these
    nets stayed near chance for the 8 short epochs of the CPU recipe.
    """
    return {"widths": SMALL_WIDTHS, "fc": SMALL_FC, "input_size": 56, "norm": "batch", "dropout": 0.0, **kwargs}


#: name -> (network, fixed arguments, overridable defaults, input shape, default classes, docstring).
VARIANTS: dict[str, tuple[type[nn.Module], dict, dict, tuple[int, ...], int, str]] = {
    "karpathy_single": (KarpathyNet, {"fusion": "single"}, {}, (3, 1, 170, 170), 487,
                        "Single-frame baseline; reads the middle frame of ``(B, 3, T, 170, 170)``."),
    "karpathy_early": (KarpathyNet, {"fusion": "early"}, {}, (3, 10, 170, 170), 487,
                       "Early fusion: conv1 filters are 11x11x3x10; reads the central 10 frames."),
    "karpathy_late": (KarpathyNet, {"fusion": "late"}, {}, (3, 16, 170, 170), 487,
                      "Late fusion: shared tower on the first and last frame (15 apart for 16 frames), merged at FC6."),
    "karpathy_slow": (KarpathyNet, {"fusion": "slow"}, {}, (3, 10, 170, 170), 487,
                      "Slow fusion: temporal extents 4/2/2 with stride 2 in conv1-3 over 10 frames."),
    "karpathy_multires": (KarpathyMultires, {}, {"fusion": "single"}, (3, 1, 178, 178), 487,
                          "Context + fovea streams on 178x178 frames; single-frame towers (the paper's Table 1 row);"
                          " ``fusion='slow'`` (with 10 frames) gives the multires slow-fusion net."),
    "karpathy_single_small": (KarpathyNet, {"fusion": "single"}, {}, (3, 10, 56, 56), 9,
                              "CPU single-frame net (width / 4, 56x56); reads the middle frame."),
    "karpathy_early_small": (KarpathyNet, {"fusion": "early"}, {}, (3, 10, 56, 56), 9,
                             "CPU early-fusion net: conv1 still spans 10 frames."),
    "karpathy_late_small": (KarpathyNet, {"fusion": "late"}, {"last_pool": False}, (3, 10, 56, 56), 9,
                            "CPU late-fusion net: shared tower on the first and last frame of the clip, no pooling "
                            "after conv5 (their 4x4 maps meet at fc6; see ``KarpathyNet``)."),
    "karpathy_slow_small": (KarpathyNet, {"fusion": "slow"}, {}, (3, 10, 56, 56), 9,
                            "CPU slow-fusion net: same 4/2/2 temporal extents and strides over 10 frames."),
    "karpathy_multires_small": (KarpathyMultires, {}, {"fusion": "slow"}, (3, 10, 56, 56), 9,
                                "CPU multires net: 28x28 context + 28x28 fovea streams, slow-fusion towers by default"
                                " (the synthetic CPU recipe's classes differ only in motion, which a single frame"
                                " cannot see)."),
}


def _register(name: str) -> None:
    """Register the builder of ``VARIANTS[name]`` (``*_small`` names take the :func:`_small` defaults)."""
    net, fixed, defaults, input_shape, classes, doc = VARIANTS[name]
    small = name.endswith("_small")

    def build(num_classes: int = classes, **kwargs) -> nn.Module:
        kw = {**defaults, **kwargs}
        return net(num_classes, **fixed, **(_small(kw) if small else kw))

    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    globals()[name] = register_model(name, input_shape=input_shape, family=FAMILY, paper=PAPER)(build)


for _name in VARIANTS:
    _register(_name)
