"""Single-frame baseline: shapes, the fusion rule, and proof that it cannot see motion."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidzoo.models import build_model, get_model_info
from vidzoo.models.single_frame import SingleFrame, single_frame, single_frame_small


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("builder", "fusion", "train"),
    [(single_frame_small, "logits", False), (single_frame_small, "softmax", False),
     (single_frame_small, "softmax", True), (single_frame, "logits", False)],
)
def test_output_invariant_to_frame_order(builder, fusion: str, train: bool) -> None:
    """Shuffling the frames of every clip leaves the output unchanged: no motion information reaches it.

    Also in train mode, where BatchNorm uses the statistics of all B*T frames (a set, so order-free).
    """
    torch.manual_seed(0)
    model = builder(num_classes=6, fusion=fusion, dropout=0.0).train(train)
    x = torch.randn(2, 3, 5, 32, 32)
    perm = torch.tensor([3, 0, 4, 2, 1])
    with torch.no_grad():
        torch.testing.assert_close(model(x[:, :, perm]), model(x), rtol=1e-5, atol=1e-5)
        reversed_out = model(x.flip(2))
        torch.testing.assert_close(reversed_out, model(x), rtol=1e-5, atol=1e-5)


def test_frames_are_classified_independently() -> None:
    """Changing frame 2 changes only frame 2's logits: there is no temporal mixing anywhere."""
    torch.manual_seed(0)
    model = single_frame_small(num_classes=4).eval()
    x = torch.randn(1, 3, 4, 32, 32)
    y = x.clone()
    y[:, :, 2] = torch.randn(3, 32, 32)
    with torch.no_grad():
        a, b = model.frame_logits(x), model.frame_logits(y)
    assert a.shape == (1, 4, 4)
    torch.testing.assert_close(a[:, [0, 1, 3]], b[:, [0, 1, 3]])
    assert not torch.allclose(a[:, 2], b[:, 2])


def test_fusion_rules() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 3, 24, 24)
    by_logits = single_frame_small(num_classes=5, fusion="logits").eval()
    by_softmax = single_frame_small(num_classes=5, fusion="softmax").eval()
    by_softmax.load_state_dict(by_logits.state_dict())
    with torch.no_grad():
        frames = by_logits.frame_logits(x)
        torch.testing.assert_close(by_logits(x), frames.mean(1))
        out = by_softmax(x)
    # log of the mean frame probability: a valid logit vector whose softmax is that mean.
    torch.testing.assert_close(out.exp(), frames.softmax(-1).mean(1))
    torch.testing.assert_close(out.softmax(-1), frames.softmax(-1).mean(1))


@pytest.mark.parametrize("name", ["single_frame_small", "single_frame"])
def test_registered_shapes_and_backward(name: str) -> None:
    info = get_model_info(name)
    assert info.inputs == ("rgb",) and info.input_shape[0] == 3
    model = build_model(name, num_classes=9)
    out = model(torch.randn(2, 3, 2, 32, 32))
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_param_counts() -> None:
    # small trunk: four bias-free 3x3 2D convs 3-16-32-64-128, BN (2 per channel), then a 128 -> 9 classifier.
    convs = 9 * (3 * 16 + 16 * 32 + 32 * 64 + 64 * 128)
    bn = 2 * (16 + 32 + 64 + 128)
    assert _params(single_frame_small(num_classes=9)) == convs + bn + 128 * 9 + 9 == 98_841
    # ResNet-18 trunk without its classifier (11,176,512) + a 512 -> 101 classifier.
    with torch.device("meta"):
        assert _params(single_frame(num_classes=101)) == 11_176_512 + 512 * 101 + 101 == 11_228_325


def test_single_frame_clip_of_one_frame_and_errors() -> None:
    model = single_frame_small(num_classes=3).eval()
    with torch.no_grad():
        assert model(torch.randn(4, 3, 1, 16, 16)).shape == (4, 3)
    with pytest.raises(ValueError, match=r"SingleFrame: expected a clip batch \(B, 3, T, H, W\)"):
        model(torch.randn(4, 3, 16, 16))
    with pytest.raises(ValueError, match="fusion must be 'logits' or 'softmax'"):
        SingleFrame(nn.Identity(), 3, 3, fusion="max")
    with pytest.raises(ValueError, match="float clip"):
        model(torch.zeros(1, 3, 2, 16, 16, dtype=torch.uint8))
