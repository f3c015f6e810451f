"""Siamese "Actions ~ Transformations" (Wang et al. 2016): parameter counts from the layer spec, the latent split
(the argmax over admissible splits, per class) and the logits the shared evaluator reads."""

from __future__ import annotations

import torch

from vidzoo import build_model


def _numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _vgg16_fc7() -> int:
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    return sum(9 * i * o + o for i, o in convs) + (25088 * 4096 + 4096) + (4096 * 4096 + 4096)


def test_full_size_parameter_count_from_the_layer_spec():
    tower = _vgg16_fc7() + 4096 * 512 + 512
    with torch.device("meta"):
        model = build_model("siamese_transformation", 101)
    assert _numel(model) == 2 * tower + 101 * 512 * 512 == 299_192_960


def test_small_parameter_count_from_the_layer_spec():
    convs = [(3, 16), (16, 32), (32, 64)]
    tower = sum(27 * i * o + 2 * o for i, o in convs) + 64 * 64 + 64  # conv (no bias) + BN + embedding
    assert _numel(build_model("siamese_transformation_small", 9)) == 2 * tower + 9 * 64 * 64 == 186_464


def test_logits_are_the_best_split_cosine_per_class():
    torch.manual_seed(0)
    model = build_model("siamese_transformation_small", 9).eval()
    x = torch.randn(2, 3, 8, 32, 32)
    assert model.split_points(8) == [3, 4, 5]
    with torch.no_grad():
        scores = model.split_scores(x)  # (B, S, C)
        logits = model(x)
        best = model.best_split(x)
    assert scores.shape == (2, 3, 9) and logits.shape == (2, 9)
    assert scores.abs().max() <= 1 + 1e-5
    torch.testing.assert_close(logits, model.scale * scores.max(dim=1).values)
    chosen = torch.gather(scores, 1, (best - 3)[:, None]).squeeze(1)
    torch.testing.assert_close(chosen, scores.max(dim=1).values)


def test_split_score_is_the_cosine_of_transformed_precondition_and_effect():
    torch.manual_seed(0)
    model = build_model("siamese_transformation_small", 4).eval()
    x = torch.randn(1, 3, 6, 24, 24)
    with torch.no_grad():
        pre, effect = model.pre_tower(x[:, :, :3]), model.effect_tower(x[:, :, 3:])
        expected = torch.nn.functional.cosine_similarity(model.transforms[2] @ pre[0], effect[0], dim=0)
        assert model.split_points(6) == [3]
        torch.testing.assert_close(model.split_scores(x)[0, 0, 2], expected)


def test_training_the_true_class_raises_its_best_split_similarity():
    torch.manual_seed(0)
    model = build_model("siamese_transformation_small", 3)
    x = torch.randn(6, 3, 8, 16, 16)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert (model(x).argmax(1) == labels).float().mean() == 1.0


def test_per_frame_towers_share_frame_features_across_splits():
    """With per-frame towers the segment embeddings come from prefix sums of frame features computed once; they
    equal running the towers on every segment."""
    from torch import nn

    from vidzoo.models.siamese import ActionTransformation, FrameTower

    torch.manual_seed(0)

    def tower() -> FrameTower:
        return FrameTower(nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(1)), 4, 5)

    model = ActionTransformation(tower(), tower(), 5, 3, min_segment=2).eval()
    x = torch.randn(2, 3, 7, 12, 12)
    with torch.no_grad():
        direct = torch.stack([torch.nn.functional.cosine_similarity(
            torch.einsum("cde,be->bcd", model.transforms, model.pre_tower(x[:, :, :s])),
            model.effect_tower(x[:, :, s:])[:, None], dim=-1) for s in model.split_points(7)], dim=1)
        torch.testing.assert_close(model.split_scores(x), direct, atol=1e-5, rtol=1e-5)
