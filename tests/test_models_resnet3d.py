"""ResNet3D family: equality with torchvision (keys, outputs, parameter counts), (2+1)D widths, shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import video as tv_video

from vidzoo.models import build_model, get_model_info
from vidzoo.models.resnet3d import (
    Conv2Plus1D,
    mc3_18,
    mid_channels_2plus1d,
    r2plus1d_18,
    r2plus1d_34,
    r2plus1d_small,
    r3d_18,
    video_resnet,
)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18"])
def test_same_keys_and_outputs_as_torchvision(name: str) -> None:
    torch.manual_seed(0)
    theirs = getattr(tv_video, name)(weights=None).eval()
    ours = build_model(name, num_classes=400).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())  # strict: same keys and shapes
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("builder", "tv_builder", "expected"),
    [(r3d_18, tv_video.r3d_18, 33_371_472), (mc3_18, tv_video.mc3_18, 11_695_440),
     (r2plus1d_18, tv_video.r2plus1d_18, 31_505_325)],
)
def test_param_counts_match_torchvision(builder, tv_builder, expected: int) -> None:
    with torch.device("meta"):
        assert _params(builder(num_classes=400)) == expected == _params(tv_builder(weights=None))


def test_mid_channel_formula() -> None:
    """M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out)) with t = d = 3."""
    assert mid_channels_2plus1d(64, 64) == (27 * 64 * 64) // (9 * 64 + 3 * 64) == 144
    assert mid_channels_2plus1d(64, 128) == 221_184 // 960 == 230
    assert mid_channels_2plus1d(128, 128) == 288
    assert mid_channels_2plus1d(256, 512) == 921
    # (2+1)D then has exactly the 3x3x3 conv's weight count up to the floor: M (9 N_in + 3 N_out) <= 27 N_in N_out.
    for n_in, n_out in [(64, 64), (64, 128), (128, 256), (256, 512), (512, 512)]:
        m = mid_channels_2plus1d(n_in, n_out)
        assert m * (9 * n_in + 3 * n_out) <= 27 * n_in * n_out < (m + 1) * (9 * n_in + 3 * n_out)


def test_mid_channel_policies() -> None:
    with torch.device("meta"):
        block_policy = r2plus1d_18()  # torchvision: one M per block from (N_in, N_out)
        conv_policy = r2plus1d_18(mid_channels="conv")  # the paper's formula per convolution
    first = block_policy.layer2[0]
    assert isinstance(first.conv1[0], Conv2Plus1D)
    assert first.conv1[0][0].out_channels == first.conv2[0][0].out_channels == 230
    assert conv_policy.layer2[0].conv1[0][0].out_channels == 230
    assert conv_policy.layer2[0].conv2[0][0].out_channels == 288
    # The paper's policy matches R3D-18's parameter count to within 0.002%.
    assert _params(conv_policy) == 33_370_839
    assert abs(_params(conv_policy) - 33_371_472) / 33_371_472 < 2e-5


def test_r2plus1d_34_param_count() -> None:
    """[3, 4, 6, 3] blocks (Tran et al. 2018); per-conv hidden widths as in the paper."""
    with torch.device("meta"):
        model = r2plus1d_34(num_classes=400)
        r3d_34 = video_resnet(["3d"] * 4, [3, 4, 6, 3], "3d", 400)
        torchvision_style = r2plus1d_34(num_classes=400, mid_channels="block")
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    assert _params(model) == 63_697_175
    assert _params(r3d_34) == 63_681_104
    assert _params(torchvision_style) == 61_831_661


def test_r2plus1d_structure() -> None:
    with torch.device("meta"):
        model = r2plus1d_18(num_classes=10)
    stem = model.stem
    assert (stem[0].kernel_size, stem[0].out_channels, stem[3].kernel_size) == ((1, 7, 7), 45, (3, 1, 1))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d) and m.kernel_size != (1, 1, 1)]
    assert all(c.kernel_size in {(1, 3, 3), (3, 1, 1), (1, 7, 7)} for c in convs)


def test_mc3_keeps_time_above_stage1() -> None:
    model = mc3_18(num_classes=7).eval()
    seen: dict[str, tuple[int, ...]] = {}
    for name in ("layer1", "layer4"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
    with torch.no_grad():
        out = model(torch.randn(1, 3, 8, 32, 32))
    assert out.shape == (1, 7)
    assert seen["layer1"][2] == 8 and seen["layer4"][2] == 8  # no temporal striding in 2D stages
    assert seen["layer4"][3:] == (2, 2)


@pytest.mark.parametrize("name", ["r2plus1d_small", "r3d_small", "mc3_small"])
def test_small_variants_shapes_and_backward(name: str) -> None:
    torch.manual_seed(0)
    assert get_model_info(name).input_shape == (3, 8, 56, 56)
    model = build_model(name, num_classes=9)
    out = model(torch.randn(2, 3, 8, 56, 56))
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_small_widths_and_counts() -> None:
    model = r2plus1d_small(num_classes=9)
    assert [getattr(model, f"layer{i}")[0].conv2[1].num_features for i in range(1, 5)] == [16, 32, 64, 128]
    assert model.stem[0].out_channels == 11  # round(45 / 4)
    assert _params(model) == 784_264
    with torch.device("meta"):
        assert _params(build_model("r3d_small", 9)) == 905_145
        assert _params(build_model("mc3_small", 9)) == 324_537
        assert _params(r2plus1d_small(num_classes=9, layers=[2, 2, 2, 2])) > _params(model)


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18"])
def test_full_size_tiny_spatial_shapes(name: str) -> None:
    model = build_model(name, num_classes=5, dropout=0.2, zero_init_residual=True).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 2, 24, 24)).shape == (1, 5)


def test_bad_input_and_args() -> None:
    model = r2plus1d_small(num_classes=3)
    with pytest.raises(ValueError, match=r"expected a clip batch \(B, 3, T, H, W\)"):
        model(torch.randn(2, 3, 56, 56))
    with pytest.raises(ValueError, match="mid_channels must be 'block' or 'conv'"):
        r2plus1d_small(mid_channels="paper")
    with pytest.raises(ValueError, match="unknown conv/stem type"):
        video_resnet(["4d"] * 4, [1, 1, 1, 1], "3d", 3)
