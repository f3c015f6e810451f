"""Feichtenhofer et al.'s fusions: the conv-fusion layer (size, init formula, pooling, two towers) and ST-ResNet
(direct additive links, temporal filters from the 2D weights)."""

from __future__ import annotations

import math

import pytest
import torch

from vidzoo.models import build_model
from vidzoo.models.st_resnet import TimeConv
from vidzoo.models.two_stream import StreamNet
from vidzoo.models.two_stream_conv import init_fusion_conv

PAIR = {"rgb": torch.randn(2, 3, 3, 56, 56), "flow": torch.randn(2, 2, 15, 56, 56)}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def official_fusion_weight(out_c: int) -> torch.Tensor:
    """cnn_ucf101_fusion.m written out element by element: [0.25 I; 0.75 I] (spatial, temporal halves of the
    2C inputs) times exp(-(x^2 + y^2 + z^2) / 2) over -1..1, normalised to sum 1."""
    g = torch.tensor([[[math.exp(-(t * t + y * y + x * x) / 2) for x in (-1, 0, 1)] for y in (-1, 0, 1)]
                      for t in (-1, 0, 1)])
    g = g / g.sum()
    w = torch.zeros(out_c, 2 * out_c, 3, 3, 3)
    for o in range(out_c):
        w[o, o] = 0.25 * g
        w[o, out_c + o] = 0.75 * g
    return w


def test_full_size_fusion_layer_is_one_conv3d_of_14_156_288_parameters():
    with torch.device("meta"):
        model = build_model("two_stream_conv", 101)
    conv = model.fuse
    assert isinstance(conv, torch.nn.Conv3d) and conv.kernel_size == (3, 3, 3) and conv.padding == (1, 1, 1)
    assert (conv.in_channels, conv.out_channels) == (1024, 512)
    assert n_params(conv) == 1024 * 512 * 27 + 512 == 14_156_288
    assert n_params(model) == n_params(model.spatial) + n_params(model.temporal) + 14_156_288


def test_fusion_init_reproduces_the_official_formula():
    conv = torch.nn.Conv3d(1024, 512, 3, padding=1)
    init_fusion_conv(conv)
    assert torch.allclose(conv.weight, official_fusion_weight(512), atol=1e-7) and not conv.bias.any()
    model = build_model("two_stream_conv_small", 9)  # the model's own layer, after building
    assert torch.allclose(model.fuse.weight, official_fusion_weight(128), atol=1e-7) and not model.fuse.bias.any()


def test_conv_fusion_dropout_and_two_towers():
    """Dropout 0.85 everywhere; training leaves the temporal tower's logits for its own loss, evaluation
    returns the mean of the fused and the temporal tower's logits."""
    torch.manual_seed(0)
    model = build_model("two_stream_conv_small", 9)
    assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.85}
    with torch.device("meta"):
        full = build_model("two_stream_conv", 101)
    assert {m.p for m in full.modules() if isinstance(m, torch.nn.Dropout)} == {0.85}
    model.train()
    fused = model(PAIR)
    (temporal,) = model.auxiliary_logits
    assert fused.shape == temporal.shape == (2, 9) and not torch.allclose(fused, temporal)
    model.eval()
    with torch.no_grad():
        both = model(PAIR)
        assert model.auxiliary_logits == []
        model.keep_temporal_tower = False
        fused_only = model(PAIR)
        stacks, _ = model.temporal.to_images(PAIR["flow"])
        ft = model.temporal.backbone.features(stacks)
        tower = model._tower(model.temporal.backbone, ft.view(2, 3, *ft.shape[1:]).transpose(1, 2))
    assert torch.allclose(both, (fused_only + tower) / 2, atol=1e-5)


def test_3d_pooling_is_max_over_pool_frames_with_temporal_stride_2():
    """The 3D pooling takes the max over pool_frames with stride 2 in time (VGG-16: 2x2x5 in place of pool5);
    each pooled step is classified and the logits averaged; too few frames is a clear error."""
    model = build_model("two_stream_conv_small", 9, pool_frames=2).eval()
    volume = torch.randn(1, 128, 4, 4, 4)
    with torch.no_grad():
        per_step = [model.spatial.backbone.classify(volume[:, :, t:t + 2].amax(2)) for t in (0, 2)]
        assert torch.allclose(model._tower(model.spatial.backbone, volume), (per_step[0] + per_step[1]) / 2, atol=1e-6)
    with torch.device("meta"):
        assert build_model("two_stream_conv", 101).spatial.backbone.pool5_window == (2, 2, False)
    with pytest.raises(ValueError, match="pool_frames=3"):
        build_model("two_stream_conv_small", 9)({"rgb": torch.randn(1, 3, 2, 56, 56), "flow": torch.randn(1, 2, 10, 56, 56)})


def _streams(seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    return {"spatial_weights": StreamNet("rgb", 9, "small2", 5).state_dict(),
            "temporal_weights": StreamNet("flow", 9, "small2", 5).state_dict()}


def test_st_resnet_temporal_filters_start_from_the_2d_weights():
    """Centre frame = the 2D conv's weights, neighbours 0 (identity through time); 'average' = W/3 on each frame."""
    weights = _streams()
    model = build_model("two_stream_residual_small", 9, **weights)
    avg = build_model("two_stream_residual_small", 9, temporal_init="average", **weights)
    for stream in ("spatial", "temporal"):
        for stage in (1, 2, 3, 4):
            key = f"backbone.layer{stage}.1.conv1.weight"
            w2d = weights[f"{stream}_weights"][key]
            conv = getattr(model, stream).backbone.get_submodule(f"layer{stage}.1.conv1")
            assert isinstance(conv, TimeConv) and conv.weight.shape == (w2d.shape[0], w2d.shape[1], 3, 3, 3)
            assert torch.equal(conv.weight[:, :, 1], w2d) and not conv.weight[:, :, [0, 2]].any()
            avg_w = getattr(avg, stream).backbone.get_submodule(f"layer{stage}.1.conv1").weight
            assert torch.allclose(avg_w, w2d.unsqueeze(2).expand_as(avg_w) / 3)
            assert not isinstance(getattr(model, stream).backbone.get_submodule(f"layer{stage}.0.conv1"), TimeConv)
    plain = build_model("two_stream_residual_small", 9, temporal_stages=(), **weights).eval()
    with torch.no_grad():  # centre init: the same net as with per-frame 2D convs
        assert torch.allclose(model.eval()(PAIR), plain(PAIR), atol=1e-5)


def test_st_resnet_links_are_direct_and_additive_by_default():
    """No link parameters: the model is exactly its two streams; the motion map is added to the appearance
    stream's residual path (the output differs from the unlinked net), and a zero-initialised 1x1 conv link
    (the option) starts as the two separate streams."""
    weights = _streams()
    model = build_model("two_stream_residual_small", 9, **weights).eval()
    assert model.links is None and n_params(model) == n_params(model.spatial) + n_params(model.temporal)
    conv_link = build_model("two_stream_residual_small", 9, link="conv", **weights).eval()
    assert n_params(conv_link) == n_params(model) + sum(c * c for c in (16, 32, 64, 128))
    with torch.no_grad():
        separate = (conv_link.spatial.backbone, conv_link.temporal.backbone)
        unlinked = conv_link(PAIR)
        linked = model(PAIR)
    assert not torch.allclose(linked, unlinked, atol=1e-4)
    assert separate[0] is conv_link.spatial.backbone
    with pytest.raises(ValueError, match="two or more units per stage"):
        from vidzoo.models.st_resnet import TwoStreamResidual

        TwoStreamResidual(StreamNet("rgb", 9, "small", 5), StreamNet("flow", 9, "small", 5))
    with pytest.raises(ValueError, match="ResNet"):
        build_model("two_stream_residual", 9, backbone="vgg16")


def test_st_resnet_trains_both_streams_and_averages_at_evaluation():
    model = build_model("two_stream_residual_small", 9, **_streams())
    model.train()
    appearance = model(PAIR)
    (motion,) = model.auxiliary_logits
    assert appearance.shape == motion.shape == (2, 9)
    model.eval()
    with torch.no_grad():
        out = model(PAIR)
    assert out.shape == (2, 9) and model.auxiliary_logits == []
