"""3D CNN + LSTM in the style of Baccouche et al. 2011, "Sequential Deep Learning for Human Action Recognition".

A small 3D CNN encodes consecutive short clips of a video; an LSTM reads the clip features in
temporal order and classifies the whole video from its last hidden state (``readout="last"``) or
from the mean of its per-step logits (``readout="mean"``, the paper classifies every time step).

Input ``(B, 3, N * clip_len, H, W)``: ``N`` consecutive clips concatenated in time, which is what the
data pipeline's sequence sampler delivers (``data.sampler: sequence``, ``data.seq_clips: N``,
``data.num_frames: clip_len``). ``N`` is read from the input; only ``clip_len`` is fixed.

Encoder (``Clip3DEncoder``): C1 3D conv -> 2x2 subsampling -> C2 3D conv -> subsampling onto a fixed
grid -> C3 3D conv whose kernel covers the whole remaining volume, giving one feature vector per clip.
The full-size layer sizes are our reading of the paper's KTH net (9-frame clips of 54x34 person
crops, H x W): C1 7 maps of 7x7x5, C2 35 maps of 7x7x3, C3 5 maps, tanh, an LSTM of 50 units. The
paper wires C2 to C1 through a partial connection table; we use full connections. We could not check
the paper text from here, so treat those numbers as approximate. ``cnn_lstm_small`` keeps the
structure (three 3D convs, the last covering the clip) with 4-frame clips of 56x56, ReLU and batch norm.

Training, as in the paper or end to end:

* two steps (the paper's recipe, the default whenever stage-1 weights are given): train
  ``cnn_lstm_encoder[_small]`` (the encoder plus a linear head, a plain 3D CNN clip classifier) first, then
  ``cnn_lstm[_small]`` with ``encoder_weights`` = that run's state dict: the encoder is frozen and only the
  LSTM and its classifier learn, on the encoder's fixed features. The engine reads the stage-1 run folder
  named by ``+model.kwargs.encoder_weights`` and passes its tensors; keys may carry an ``encoder.`` prefix
  (a vidzoo checkpoint of either model) or none (a bare encoder state dict).
* end to end: no ``encoder_weights`` (from scratch), or ``freeze_encoder=False`` to fine-tune the
  pre-trained encoder together with the LSTM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from vidzoo.models.registry import register_model

PAPER = "Baccouche et al. 2011, HBU workshop (LNCS 7065)"
FAMILY = "3D CNN + LSTM"
READOUTS = ("last", "mean")


@dataclass(frozen=True)
class EncoderSpec:
    """Shape of a ``Clip3DEncoder``: widths of C1-C3, C1/C2 kernels ``(kt, kh, kw)``, C1 stride/padding,
    the grid C2's output is pooled onto (C3's spatial kernel), activation and batch norm."""

    clip_len: int
    widths: tuple[int, int, int]
    k1: tuple[int, int, int]
    k2: tuple[int, int, int]
    grid: tuple[int, int]
    stride1: int = 1
    pad1: int = 0
    pad2: int = 0
    activation: str = "tanh"
    batch_norm: bool = False

    def c3_frames(self) -> int:
        """Temporal extent left for C3 (its temporal kernel)."""
        t = self.clip_len - self.k1[0] + 1 - self.k2[0] + 1
        if t < 1:
            raise ValueError(f"cnn_lstm: clip_len={self.clip_len} is shorter than the C1+C2 temporal kernels")
        return t


FULL_ENCODER = EncoderSpec(clip_len=9, widths=(7, 35, 5), k1=(5, 7, 7), k2=(3, 7, 7), grid=(9, 4))
SMALL_ENCODER = EncoderSpec(
    clip_len=4, widths=(16, 32, 64), k1=(2, 5, 5), k2=(2, 3, 3), grid=(4, 4),
    stride1=2, pad1=2, pad2=1, activation="relu", batch_norm=True,
)


def _act(name: str) -> nn.Module:
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"cnn_lstm: unknown activation {name!r}; choose tanh or relu")


class Clip3DEncoder(nn.Module):
    """One clip ``(B, 3, clip_len, H, W)`` -> one feature vector ``(B, widths[2])``."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        c1, c2, c3 = spec.widths
        bn = spec.batch_norm

        def block(cin: int, cout: int, kernel: Sequence[int], stride: int, pad: int) -> list[nn.Module]:
            conv = nn.Conv3d(cin, cout, tuple(kernel), stride=(1, stride, stride), padding=(0, pad, pad), bias=not bn)
            return [conv, nn.BatchNorm3d(cout), _act(spec.activation)] if bn else [conv, _act(spec.activation)]

        self.c1 = nn.Sequential(*block(3, c1, spec.k1, spec.stride1, spec.pad1))
        self.c2 = nn.Sequential(*block(c1, c2, spec.k2, 1, spec.pad2))
        self.c3 = nn.Sequential(*block(c2, c3, (spec.c3_frames(), *spec.grid), 1, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool3d(self.c1(x), (1, 2, 2))
        x = self.c2(x)
        x = F.adaptive_avg_pool3d(x, (x.shape[2], *self.spec.grid))
        return self.c3(x).flatten(1)


def _check_clip(x: torch.Tensor, clip_len: int, name: str) -> None:
    if x.dim() != 5 or x.shape[1] != 3:
        raise ValueError(f"{name}: expected RGB clips (B, 3, T, H, W), got shape {tuple(x.shape)}")
    if x.shape[2] < clip_len or x.shape[2] % clip_len:
        raise ValueError(
            f"{name}: T={x.shape[2]} is not a whole number of {clip_len}-frame clips; use data.sampler=sequence "
            f"with data.num_frames={clip_len} (or build the model with clip_len=<data.num_frames>)"
        )


class Clip3DCNN(nn.Module):
    """The encoder as a stand-alone clip classifier ``(B, 3, clip_len, H, W) -> (B, num_classes)``,
    for pre-training the encoder of ``CNNLSTM`` (its state dict keys start with ``encoder.``)."""

    def __init__(self, num_classes: int, spec: EncoderSpec, name: str = "cnn_lstm_encoder") -> None:
        super().__init__()
        self.name = name
        self.encoder = Clip3DEncoder(spec)
        self.fc = nn.Linear(spec.widths[2], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_clip(x, self.encoder.spec.clip_len, self.name)
        if x.shape[2] != self.encoder.spec.clip_len:
            raise ValueError(f"{self.name}: expected {self.encoder.spec.clip_len} frames, got {x.shape[2]}; "
                             f"set data.num_frames={self.encoder.spec.clip_len}")
        return self.fc(self.encoder(x))


def load_encoder_weights(encoder: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Load a state dict into ``encoder``, accepting an ``encoder.`` prefix (a checkpoint of either model)."""
    prefixed = {k.removeprefix("encoder."): v for k, v in weights.items() if k.startswith("encoder.")}
    state = prefixed or dict(weights)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or wrong:
        detail = f"missing {missing[:3]}" if missing else f"shape of {wrong[0]}: {tuple(state[wrong[0]].shape)} vs {tuple(own[wrong[0]].shape)}"
        raise ValueError(
            f"encoder_weights do not fit this encoder ({detail}); pre-train the matching "
            f"cnn_lstm_encoder variant (same clip_len and sizes) and pass its checkpoint"
        )
    encoder.load_state_dict({k: state[k] for k in own})


class CNNLSTM(nn.Module):
    """3D CNN clip encoder + LSTM over clips: ``(B, 3, N * clip_len, H, W) -> (B, num_classes)``."""

    def __init__(
        self,
        num_classes: int,
        spec: EncoderSpec,
        hidden: int = 50,
        readout: str = "last",
        encoder_weights: Mapping[str, torch.Tensor] | None = None,
        freeze_encoder: bool | None = None,
        name: str = "cnn_lstm",
    ) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"{name}: unknown readout {readout!r}; choose one of {', '.join(READOUTS)}")
        if freeze_encoder and encoder_weights is None:
            raise ValueError(f"{name}: freeze_encoder=True needs encoder_weights=<pre-trained encoder checkpoint>")
        self.name = name
        self.readout = readout
        # The paper's two-step training: a given pre-trained encoder stays fixed unless freeze_encoder=False.
        self.freeze_encoder = encoder_weights is not None if freeze_encoder is None else bool(freeze_encoder)
        self.encoder = Clip3DEncoder(spec)
        if encoder_weights is not None:
            load_encoder_weights(self.encoder, encoder_weights)
        if self.freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        # An LSTMCell loop: for a handful of steps it is far cheaper on CPUs than nn.LSTM's oneDNN kernel.
        self.lstm = nn.LSTMCell(spec.widths[2], hidden)
        self.fc = nn.Linear(hidden, num_classes)

    def train(self, mode: bool = True) -> CNNLSTM:
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()  # a frozen encoder keeps its batch-norm statistics
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        clip_len = self.encoder.spec.clip_len
        _check_clip(x, clip_len, self.name)
        b, c, t, h, w = x.shape
        n = t // clip_len
        clips = x.reshape(b, c, n, clip_len, h, w).transpose(1, 2).reshape(b * n, c, clip_len, h, w)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoder):
            feats = self.encoder(clips).reshape(b, n, -1)
        state = None
        outputs = []
        for step in range(n):
            state = self.lstm(feats[:, step], state)
            outputs.append(state[0])
        if self.readout == "last":
            return self.fc(outputs[-1])
        return self.fc(torch.stack(outputs, 1)).mean(1)


@register_model("cnn_lstm", input_shape=(3, 36, 54, 34), family=FAMILY, paper=PAPER)
def cnn_lstm(num_classes: int = 6, **kwargs) -> nn.Module:
    """Baccouche-style net: 9-frame clips of 54x34, tanh 3D CNN (7/35/5 maps), LSTM of 50 units."""
    return CNNLSTM(num_classes, FULL_ENCODER, **{"hidden": 50, "name": "cnn_lstm", **kwargs})


@register_model("cnn_lstm_small", input_shape=(3, 16, 56, 56), family=FAMILY, paper=PAPER)
def cnn_lstm_small(num_classes: int = 9, **kwargs) -> nn.Module:
    """CPU variant: 4 clips of 4 frames at 56x56, ReLU + batch-norm encoder (16/32/64), LSTM of 64."""
    return CNNLSTM(num_classes, SMALL_ENCODER, **{"hidden": 64, "name": "cnn_lstm_small", **kwargs})


@register_model("cnn_lstm_encoder", input_shape=(3, 9, 54, 34), family=FAMILY, paper=PAPER)
def cnn_lstm_encoder(num_classes: int = 6, **kwargs) -> nn.Module:
    """The ``cnn_lstm`` encoder as a clip classifier, to pre-train it (paper's first step)."""
    return Clip3DCNN(num_classes, FULL_ENCODER, name="cnn_lstm_encoder", **kwargs)


@register_model("cnn_lstm_encoder_small", input_shape=(3, 4, 56, 56), family=FAMILY, paper=PAPER)
def cnn_lstm_encoder_small(num_classes: int = 9, **kwargs) -> nn.Module:
    """The ``cnn_lstm_small`` encoder as a 4-frame clip classifier, to pre-train it."""
    return Clip3DCNN(num_classes, SMALL_ENCODER, name="cnn_lstm_encoder_small", **kwargs)
