"""Ji et al. hybrid 3D CNN: hardwired layer against direct computations, layer spec, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from vidzoo.models import build_model, get_model_info
from vidzoo.models.ji3d import DEFAULT_MEAN, DEFAULT_STD, Hardwired, grouped_temporal_conv, optical_flow


def normalise(rgb01: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(DEFAULT_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(DEFAULT_STD).view(1, 3, 1, 1, 1)
    return (rgb01 - mean) / std


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random texture in [0, 1] (blurred noise: good for flow)."""
    rng = np.random.default_rng(seed)
    img = torch.from_numpy(rng.random((1, 1, h // 4, w // 4), dtype=np.float32))
    return F.interpolate(img, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)[0, 0].numpy()


def test_defaults_match_data_pipeline() -> None:
    transforms = pytest.importorskip("vidzoo.data.transforms")
    assert tuple(DEFAULT_MEAN) == tuple(transforms.KINETICS_MEAN)
    assert tuple(DEFAULT_STD) == tuple(transforms.KINETICS_STD)


def test_full_param_count_pinned() -> None:
    model = build_model("ji3d", num_classes=3)
    c2 = 5 * 2 * (7 * 7 * 3 + 1)  # 5 channel groups x 2 kernel sets, one bias per kernel
    s3 = 2 * (5 + 5 + 5 + 4 + 4) * 2  # 46 maps x (coefficient + bias)
    c4 = 5 * 2 * 3 * (7 * 6 * 3 + 1)  # each of the 10 (group, set) streams gets 3 kernels
    s5 = 6 * (3 + 3 + 3 + 2 + 2) * 2  # 78 maps
    c6 = 78 * 128 * 7 * 4 + 128
    out = 128 * 3 + 3
    expected = c2 + s3 + c4 + s5 + c6 + out
    assert expected == 285_605
    assert sum(p.numel() for p in model.parameters()) == expected
    # The often-quoted 295,458 counts one C6 bias per (input, output) map pair and no output biases.
    assert expected + 78 * 128 - 128 - 3 == 295_458


def test_layer_shapes_follow_the_paper() -> None:
    model = build_model("ji3d", num_classes=3)
    assert get_model_info("ji3d").input_shape == (3, 7, 60, 40)
    x = {"rgb": torch.randn(2, 3, 7, 60, 40), "flow": torch.randn(2, 2, 6, 60, 40)}
    app, mot = model.hardwired(x["rgb"], x["flow"])
    assert app.shape == (2, 3, 7, 60, 40) and mot.shape == (2, 2, 6, 60, 40)  # 33 maps
    c2a = grouped_temporal_conv(app, model.c2_app)
    c2m = grouped_temporal_conv(mot, model.c2_mot)
    assert c2a.shape == (2, 6, 5, 54, 34) and c2m.shape == (2, 4, 4, 54, 34)  # 2 x 23 maps of 54x34
    s3a, s3m = model.s3_app(c2a), model.s3_mot(c2m)
    assert s3a.shape[-2:] == (27, 17)
    c4a = grouped_temporal_conv(s3a, model.c4_app)
    c4m = grouped_temporal_conv(s3m, model.c4_mot)
    assert c4a.shape == (2, 18, 3, 21, 12) and c4m.shape == (2, 12, 2, 21, 12)  # 6 x 13 maps of 21x12
    assert model.s5_app(c4a).shape == (2, 18, 3, 7, 4)  # 3x3 subsampling -> 7x4
    assert model.c6.kernel_size == (7, 4) and model.c6.in_channels == 78 and model.c6.out_channels == 128
    assert model(x).shape == (2, 3)


def test_grouped_temporal_conv_equals_conv3d() -> None:
    torch.manual_seed(0)
    for cin, cout, groups, kernel in [(3, 6, 3, (3, 7, 7)), (6, 18, 6, (3, 7, 6)), (4, 4, 1, (2, 3, 3))]:
        conv = torch.nn.Conv3d(cin, cout, kernel, groups=groups)
        x = torch.randn(2, cin, 6, 20, 17)
        assert torch.allclose(grouped_temporal_conv(x, conv), conv(x), atol=1e-5)


def test_hardwired_has_no_trainable_params_and_no_state() -> None:
    model = build_model("ji3d_small", num_classes=9)
    assert sum(p.numel() for p in model.hardwired.parameters()) == 0
    assert not any(k.startswith("hardwired") for k in model.state_dict())


def test_gray_and_gradients_match_direct_computation() -> None:
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 4, 12, 10)
    app, _ = Hardwired()(normalise(rgb), flow=torch.zeros(2, 2, 3, 12, 10))
    gray = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]).numpy()
    gy, gx = np.gradient(gray, axis=(2, 3))  # central differences, one-sided at the border
    assert np.allclose(app[:, 0].numpy(), gray, atol=1e-5)
    assert np.allclose(app[:, 1].numpy(), gx, atol=1e-5)
    assert np.allclose(app[:, 2].numpy(), gy, atol=1e-5)


def test_gradients_of_a_ramp() -> None:
    ramp = torch.linspace(0, 1, 11).view(1, 1, 1, 1, 11).expand(1, 3, 2, 5, 11)
    app, _ = Hardwired()(normalise(ramp), flow=torch.zeros(1, 2, 1, 5, 11))
    assert torch.allclose(app[:, 1], torch.full_like(app[:, 1], 0.1), atol=1e-5)  # d/dx of a 0.1-per-pixel ramp
    assert torch.allclose(app[:, 2], torch.zeros_like(app[:, 2]), atol=1e-5)


@pytest.mark.parametrize("method", ["farneback", "dis"])
@pytest.mark.parametrize("shift", [(2, 0), (-2, 0), (0, 2)])
def test_flow_recovers_a_translation(method: str, shift: tuple[int, int]) -> None:
    dx, dy = shift
    big = textured(80, 80)
    frame0 = big[10:66, 10:66]
    frame1 = big[10 - dy : 66 - dy, 10 - dx : 66 - dx]  # content moves by (+dx, +dy)
    gray = torch.from_numpy(np.stack([frame0, frame1]))[None]
    flow = optical_flow(gray, method)
    assert flow.shape == (1, 2, 1, 56, 56)
    inner = flow[0, :, 0, 12:-12, 12:-12].reshape(2, -1).median(dim=1).values
    assert abs(inner[0].item() - dx) < 0.5 and abs(inner[1].item() - dy) < 0.5


def test_flow_in_forward_matches_precomputed() -> None:
    torch.manual_seed(0)
    model = build_model("ji3d_small", num_classes=9).eval()
    frames = np.stack([textured(80, 80)[10 : 66, 10 + t : 66 + t] for t in range(8)])  # steady leftward motion
    rgb = normalise(torch.from_numpy(frames).view(1, 1, 8, 56, 56).expand(1, 3, 8, 56, 56).contiguous())
    gray = torch.from_numpy(frames)[None]
    with torch.no_grad():
        computed = model(rgb)
        given = model({"rgb": rgb, "flow": optical_flow(gray)})
        zero = model({"rgb": rgb, "flow": torch.zeros(1, 2, 7, 56, 56)})
    assert torch.allclose(computed, given, atol=1e-4)
    assert not torch.allclose(computed, zero, atol=1e-4)


def test_small_forward_backward() -> None:
    torch.manual_seed(0)
    model = build_model("ji3d_small", num_classes=9)
    x = torch.randn(2, *get_model_info("ji3d_small").input_shape)
    out = model(x)
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bad_inputs_have_clear_messages() -> None:
    model = build_model("ji3d_small", num_classes=9)
    with pytest.raises(ValueError, match="num_frames=8"):
        model(torch.randn(1, 3, 7, 56, 56))
    with pytest.raises(ValueError, match="flow must be"):
        model({"rgb": torch.randn(1, 3, 8, 56, 56), "flow": torch.zeros(1, 2, 8, 56, 56)})
    with pytest.raises(ValueError, match="flow_method"):
        build_model("ji3d_small", num_classes=9, flow_method="tvl1")
