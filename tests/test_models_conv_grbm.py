"""Convolutional gated RBM (Taylor et al. 2010): shapes, parameter counts from the layer spec, probabilistic max
pooling, and contrastive divergence (the surrogate's gradient is the CD estimate; CD lowers reconstruction error)."""

from __future__ import annotations

import pytest
import torch

from pretrain_helpers import pretrain, translating_clips
from vidzoo import build_model
from vidzoo.models._pretrain import Pretrainable
from vidzoo.models.conv_grbm import ConvGRBM


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_full_size_parameter_count_from_the_layer_spec():
    grbm = 2 * 32 * 16 * 16 + 32 * 32 + 32 + 1  # Wx, Wy (32 factors, 16x16), Wz (32 maps x 32 factors), c, b
    conv1 = 32 * 64 * 3 * 7 * 7 + 64
    conv2 = 64 * 128 * 3 * 5 * 5 + 128
    head = 128 * 6 + 6
    assert _numel(build_model("conv_grbm", 6)) == grbm + conv1 + conv2 + head == 933_863


def test_small_parameter_count_from_the_layer_spec():
    grbm = 2 * 16 * 9 * 9 + 32 * 16 + 32 + 1  # 16 factors (9x9), 32 hidden maps
    head = 32 * 3 * 3 * 9 + 9  # 32 maps x 3x3 grid -> 9 classes
    assert _numel(build_model("conv_grbm_small", 9)) == grbm + head == 5_738


def test_shapes_and_frozen_features():
    model = build_model("conv_grbm_small", 9).eval()
    assert isinstance(model, Pretrainable)
    x = torch.randn(2, 3, 5, 56, 56)
    assert model.features(x).shape == (2, 32, 4, 24, 24)  # 4 frame pairs, (56 - 9 + 1) / 2 = 24
    assert model(x).shape == (2, 9)
    assert all(not p.requires_grad for p in model.pretrain_parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    full = build_model("conv_grbm", 6).eval()
    with torch.no_grad():
        assert full(torch.randn(1, 3, 16, 112, 112)).shape == (1, 6)


def test_probabilistic_max_pooling_allows_one_unit_per_block():
    torch.manual_seed(0)
    rbm = ConvGRBM(factors=4, hidden=3, kernel=3, pool=2)
    x, y = torch.randn(2, 1, 11, 11), torch.randn(2, 1, 11, 11)  # 9x9 maps: the last row/column is no block
    inputs, _ = rbm.hidden_input(x, y)
    h = rbm.sample_hidden(inputs * 5)
    blocks = h[:, :, :8, :8].reshape(2, 3, 4, 2, 4, 2).sum(dim=(3, 5))
    assert blocks.max() <= 1 and h[:, :, 8:].abs().sum() == 0 and h[:, :, :, 8:].abs().sum() == 0
    # P(pool on) = sum of the block's unit probabilities = 1 - 1 / (1 + sum exp(I))
    expected = 1 - 1 / (1 + inputs[:, :, :8, :8].exp().reshape(2, 3, 4, 2, 4, 2).sum(dim=(3, 5)))
    torch.testing.assert_close(rbm.pool_probs(x, y), expected)


def test_surrogate_gradient_is_the_cd_estimate():
    """d/dc of F(data) - F(neg) = -(sum P(h | data) - sum P(h | neg)): the positive minus the negative statistics."""
    torch.manual_seed(1)
    rbm = ConvGRBM(factors=4, hidden=3, kernel=3, pool=2)
    x, y = torch.randn(2, 1, 10, 10), torch.randn(2, 1, 10, 10)
    torch.manual_seed(7)
    loss, _ = rbm.cd_surrogate(x, y, sparsity_target=0.0, sparsity_weight=0.0)
    loss.backward()
    torch.manual_seed(7)
    with torch.no_grad():
        inputs, fx = rbm.hidden_input(x, y)
        y_neg = rbm.reconstruct(fx, rbm.sample_hidden(inputs))

        def unit_probs(v: torch.Tensor) -> torch.Tensor:
            return rbm.block_logits(rbm.hidden_input(x, v)[0]).softmax(-1)[..., :-1].sum(dim=(2, 3, 4))  # (N, K)

        expected = -(unit_probs(y) - unit_probs(y_neg)).mean(0) / y[0].numel()
    torch.testing.assert_close(rbm.hbias.grad, expected)


def test_cd_lowers_reconstruction_error_on_a_tiny_batch():
    torch.manual_seed(0)
    model = build_model("conv_grbm_small", 9, factors=8, hidden=8, kernel=5)
    errors = [s["recon_error"] for s in pretrain(model, translating_clips(4, 4, 40, crop=4), steps=40)]
    assert sum(errors[-5:]) / 5 < 0.8 * sum(errors[:5]) / 5, errors


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="at least 2 frames"):
        build_model("conv_grbm_small", 9)(torch.randn(1, 3, 1, 56, 56))
