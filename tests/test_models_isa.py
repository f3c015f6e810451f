"""Stacked convolutional ISA (Le et al. 2011): parameter counts from the layer spec, PCA whitening, the
orthonormality projection, greedy layer-wise training, and the convolutional layer equals the block-wise one."""

from __future__ import annotations

import torch

from pretrain_helpers import pretrain, translating_clips
from vidzoo import build_model
from vidzoo.models._pretrain import Pretrainable
from vidzoo.models.isa import ISALayer


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_full_size_parameter_count_from_the_layer_spec():
    w1 = 300 * 300  # 300 units on 300 PCA dimensions of a 16x16x10 block (whitening is a buffer)
    w2 = 200 * 200  # 200 units on 200 PCA dimensions of 8 x 150 layer-1 outputs
    head = (300 // 2 + 200 // 4) * 3 * 3 * 12 + 12
    assert _numel(build_model("isa", 12)) == w1 + w2 + head == 151_612


def test_small_parameter_count_from_the_layer_spec():
    head = (64 // 2 + 32 // 4) * 3 * 3 * 9 + 9
    assert _numel(build_model("isa_small", 9)) == 64 * 64 + 32 * 64 + head == 9_393


def test_shapes():
    model = build_model("isa_small", 9).eval()
    assert isinstance(model, Pretrainable)
    first, second = model.features(torch.randn(2, 3, 8, 56, 56))
    assert first.shape == (2, 32, 3, 13, 13) and second.shape == (2, 8, 2, 12, 12)
    assert model(torch.randn(2, 3, 8, 56, 56)).shape == (2, 9)
    full = build_model("isa", 12).eval()
    first, second = full.features(torch.randn(1, 3, 14, 80, 80))
    assert first.shape == (1, 150, 2, 17, 17) and second.shape == (1, 50, 1, 16, 16)


def test_whitening_gives_identity_covariance_and_conv_matches_blocks():
    torch.manual_seed(0)
    layer = ISALayer(1, kernel=(2, 4, 4), stride=(1, 2, 2), pca_dim=8, units=8, group=2)
    x = torch.randn(3, 1, 6, 20, 20).cumsum(-1)  # correlated pixels
    layer.fit_whitening(x)
    white = (layer.blocks(x) - layer.mean) @ layer.whitening.T
    torch.testing.assert_close(white.T @ white / (white.shape[0] - 1), torch.eye(8), atol=1e-3, rtol=1e-3)
    pooled_blocks = ((white @ layer.weight.T).pow(2).view(-1, 4, 2).sum(-1) + 1e-8).sqrt()
    pooled_conv = layer(x).permute(0, 2, 3, 4, 1).reshape(-1, 4)
    torch.testing.assert_close(pooled_conv, pooled_blocks, atol=1e-4, rtol=1e-4)


def test_projection_restores_orthonormal_rows_and_training_is_greedy():
    torch.manual_seed(0)
    model = build_model("isa_small", 9)
    clips = torch.randn(2, 3, 8, 32, 32).cumsum(-1)
    params = model.pretrain_parameters()
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.SGD(params, lr=0.5)
    loss, _ = model.pretrain_loss(clips, progress=0.0)
    loss.backward()
    assert model.layer1.weight.grad is not None and model.layer2.weight.grad is None  # layer 1 first
    before = model.layer1.weight.detach().clone()
    opt.step()
    w = model.layer1.weight.detach()
    assert (w @ w.T - torch.eye(64)).abs().max() > 1e-2  # the step leaves the constraint set ...
    model.after_pretrain_step()
    w = model.layer1.weight.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(64), atol=1e-5, rtol=0)  # ... the projection brings it back
    assert not torch.equal(w, before)
    assert bool(model.layer1.fitted) and not bool(model.layer2.fitted)
    opt.zero_grad()
    loss, stats = model.pretrain_loss(clips, progress=0.5)
    assert stats["isa_layer"] == 2.0 and bool(model.layer2.fitted)
    loss.backward()
    assert model.layer1.weight.grad is None and model.layer2.weight.grad is not None


def test_isa_objective_decreases():
    torch.manual_seed(0)
    model = build_model("isa_small", 9)
    losses = [s["loss"] for s in pretrain(model, translating_clips(4, 8, 40), steps=15)]
    assert losses[-1] < 0.99 * losses[0] and losses == sorted(losses, reverse=True), losses
