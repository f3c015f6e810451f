"""C3D: layer layout, pinned parameter counts (derived from the paper's layer spec), shapes, input errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidzoo.models import build_model, get_model_info
from vidzoo.models.c3d import C3D, c3d, c3d_small


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _c3d_count_from_spec(num_classes: int) -> int:
    """Parameters of C3D from the paper's spec, layer by layer (weights + biases).

    convs 3x3x3: 3->64, 64->128, 128->256, 256->256, 256->512, 512->512, 512->512, 512->512;
    pool5 output 512 x 1 x 4 x 4 = 8192 -> fc6 4096 -> fc7 4096 -> fc8 num_classes.
    """
    chans = [3, 64, 128, 256, 256, 512, 512, 512, 512]
    convs = sum(27 * cin * cout + cout for cin, cout in zip(chans[:-1], chans[1:]))
    fcs = (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * num_classes + num_classes)
    return convs + fcs


def test_c3d_param_count_sports1m_and_ucf101() -> None:
    """Pinned integers, derived by hand and cross-checked against the layer-spec arithmetic.

    convs: 5,248 + 221,312 + 884,992 + 1,769,728 + 3,539,456 + 3 x 7,078,400 = 27,655,936
    fc6 33,558,528 + fc7 16,781,312 = 50,339,840; fc8 at 487 classes 1,995,239, at 101 classes 413,797.
    """
    assert _c3d_count_from_spec(487) == 79_991_015 == 27_655_936 + 50_339_840 + 1_995_239
    assert _c3d_count_from_spec(101) == 78_409_573 == 27_655_936 + 50_339_840 + 413_797
    with torch.device("meta"):
        assert _params(c3d()) == 79_991_015  # default num_classes=487 (Sports-1M)
        assert _params(c3d(num_classes=101)) == 78_409_573


def test_c3d_layout_matches_paper() -> None:
    with torch.device("meta"):
        model = c3d()
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert all(c.kernel_size == (3, 3, 3) and c.stride == (1, 1, 1) and c.padding == (1, 1, 1) for c in convs)
    pools = [m for m in model.features.modules() if isinstance(m, nn.MaxPool3d)]
    assert [p.kernel_size for p in pools] == [(1, 2, 2), 2, 2, 2, 2]
    assert not any(isinstance(m, nn.BatchNorm3d) for m in model.modules())
    assert (model.fc6.in_features, model.fc6.out_features, model.fc7.out_features) == (8192, 4096, 4096)
    assert model.dropout.p == 0.5


def test_c3d_full_size_shapes_on_meta() -> None:
    """At the native 16x112x112 input pool5 is 512x1x4x4 (Caffe's ceil rounding: 7 -> 4)."""
    with torch.device("meta"):
        model = c3d(num_classes=101)
        x = torch.empty(2, 3, 16, 112, 112)
        assert model.features(x).shape == (2, 512, 1, 4, 4)
        assert model(x).shape == (2, 101)


def test_c3d_small_trains_shape_and_backward() -> None:
    torch.manual_seed(0)
    model = build_model("c3d_small", num_classes=9)
    assert get_model_info("c3d_small").input_shape == (3, 8, 56, 56)
    x = torch.randn(2, 3, 8, 56, 56)
    assert model.features(x).shape[2:] == (1, 2, 2)  # adaptive pool is the identity at the native size
    out = model(x)
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert any(isinstance(m, nn.BatchNorm3d) for m in model.modules())
    assert model.dropout.p == 0.0  # see c3d_small: the paper's 0.5 stalls the tiny head
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv3d)] == [8, 16, 32, 32, 64, 64, 64, 64]


def test_c3d_small_param_count() -> None:
    # convs (no bias, BN 2 params/ch): 27*(3*8+8*16+16*32+32*32+32*64+3*64*64) = 432,648; BN 2*(8+16+32+32+64*4) = 688;
    # fc6 (64*2*2)*256+256 = 65,792; fc7 65,792; fc8 256*9+9 = 2,313.
    assert 27 * (3 * 8 + 8 * 16 + 16 * 32 + 32 * 32 + 32 * 64 + 3 * 64 * 64) == 432_648
    assert _params(c3d_small(num_classes=9)) == 432_648 + 688 + 65_792 + 65_792 + 2_313 == 567_233


@pytest.mark.parametrize("shape", [(1, 3, 4, 32, 32), (2, 3, 5, 40, 48), (1, 3, 16, 64, 64)])
def test_c3d_small_any_clip_size(shape: tuple[int, ...]) -> None:
    model = c3d_small(num_classes=5).eval()
    with torch.no_grad():
        assert model(torch.randn(shape)).shape == (shape[0], 5)


def test_c3d_width_and_options() -> None:
    with torch.device("meta"):
        model = c3d(num_classes=10, width=0.5, fc_dim=512, batch_norm=True)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 128, 256, 256, 256, 256]
    assert all(c.bias is None for c in convs)  # BN makes the conv bias redundant
    assert model.fc6.in_features == 256 * 16 and model.fc7.out_features == 512


def test_c3d_bad_input_and_args() -> None:
    model = c3d_small(num_classes=3)
    with pytest.raises(ValueError, match=r"C3D: expected a clip batch \(B, 3, T, H, W\)"):
        model(torch.randn(2, 8, 3, 56, 56))
    with pytest.raises(ValueError, match="C3D: expected a clip batch"):
        model(torch.randn(3, 8, 56, 56))
    with pytest.raises(ValueError, match="widths needs 8 entries"):
        C3D(widths=[8, 8])
    with pytest.raises(ValueError, match="width must be > 0"):
        c3d(width=0)


def test_fc6_is_the_papers_descriptor():
    """Tran et al. 2015 describe a video by its fc6 activations; forward_features is fc7 (fc8's input)."""
    torch.manual_seed(0)
    model = build_model("c3d_small", num_classes=9).eval()
    x = torch.randn(2, 3, 8, 56, 56)
    with torch.no_grad():
        fc6 = model.fc6_features(x)
        assert fc6.shape == (2, model.fc6.out_features) and (fc6 >= 0).all()
        assert torch.allclose(model.forward_features(x), model.relu(model.fc7(fc6)))
