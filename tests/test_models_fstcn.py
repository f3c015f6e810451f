"""FstCN: shapes, the factorisation (2D spatial then 1D temporal), the frame-difference motion path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidzoo.models import build_model, get_model_info
from vidzoo.models.fstcn import FstCN, fstcn, fstcn_small


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", ["fstcn_small", "fstcn"])
def test_shapes_and_backward(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=9)
    t, h, w = get_model_info(name).input_shape[1:] if name.endswith("small") else (4, 32, 32)
    out = model(torch.randn(2, 3, t, h, w))
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_factorised_convolutions() -> None:
    """Only 2D spatial convs and (k_t, 1, 1) temporal convs: no joint 3D kernel anywhere."""
    with torch.device("meta"):
        model = fstcn(num_classes=101)
    conv2d = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    conv3d = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in model.scl if isinstance(c, nn.Conv2d)] == [96, 256, 512, 512]
    assert [c.kernel_size for c in model.scl if isinstance(c, nn.Conv2d)] == [(7, 7), (5, 5), (3, 3), (3, 3)]
    assert len(conv2d) == 6  # 4 shared SCL + conv5 of each path
    assert conv3d and all(c.kernel_size == (3, 1, 1) for c in conv3d)


def test_param_counts() -> None:
    # full size: the temporal path's fc6 reads 128 channels x 4 time bins x 4x4 = 8192 features (the spatial
    # path's fc6 reads 128 x 4x4 = 2048); before the time axis was kept it read 2048 too (39,378,634 in all).
    with torch.device("meta"):
        assert _params(fstcn(num_classes=101)) == 39_378_634 + (8192 - 2048) * 4096 == 64_544_458
    assert _params(fstcn_small(num_classes=101)) == 330_330


def test_temporal_fc_sees_when_things_move() -> None:
    """The TCL output keeps ``temporal_bins`` time steps into fc6 (the order of events survives to the fc)."""
    model = fstcn_small(num_classes=4).eval()
    fed: list[torch.Tensor] = []
    model.temporal_head.register_forward_pre_hook(lambda m, args: fed.append(args[0]))
    with torch.no_grad():
        model.temporal_logits(torch.randn(2, 3, 8, 32, 32))
    c_t = model.tcl[-3].out_channels
    assert fed[0].shape == (2, c_t * 4 * 2 * 2)  # channels x 4 time bins x 2x2 pooled space
    with pytest.raises(ValueError, match="temporal_bins must be >= 1"):
        FstCN(temporal_bins=0)


def test_temporal_path_sees_only_motion() -> None:
    """A still clip gives the temporal path an all-zero input, whatever the appearance; motion changes it."""
    torch.manual_seed(0)
    model = fstcn_small(num_classes=5).eval()
    still_a = torch.randn(1, 3, 1, 32, 32).expand(1, 3, 6, 32, 32)
    still_b = torch.randn(1, 3, 1, 32, 32).expand(1, 3, 6, 32, 32)
    moving = torch.randn(1, 3, 6, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.temporal_logits(still_a), model.temporal_logits(still_b))
        assert not torch.allclose(model.temporal_logits(moving), model.temporal_logits(still_a))
        # Frame order matters to the temporal path (unlike a single-frame model).
        assert not torch.allclose(model.temporal_logits(moving), model.temporal_logits(moving.flip(2)))
        torch.testing.assert_close(model(moving), model.spatial_logits(moving) + model.temporal_logits(moving))


def test_spatial_path_reads_the_centre_frame() -> None:
    model = fstcn_small(num_classes=4).eval()
    x = torch.randn(1, 3, 5, 32, 32)
    y = x.clone()
    y[:, :, [0, 1, 3, 4]] = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.spatial_logits(x), model.spatial_logits(y))


def test_diff_stride_and_errors() -> None:
    model = fstcn_small(num_classes=3, diff_stride=2).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 3, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="FstCN: needs at least 3 frames per clip, got T=2"):
        model(torch.randn(1, 3, 2, 32, 32))
    with pytest.raises(ValueError, match="diff_stride must be >= 1"):
        FstCN(diff_stride=0)
    with pytest.raises(ValueError, match="widths needs 5 entries"):
        FstCN(widths=(8, 8))
