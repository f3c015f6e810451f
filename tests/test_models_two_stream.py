"""Two-stream models: pinned sizes, shapes, channel order, cross-modality init, fusion and identity inits."""

from __future__ import annotations


import pytest
import torch

from vidzoo.models import build_model, get_model_info
from vidzoo.models._stream_backbones import BackboneWeightsError, build_backbone, cross_modality_weight, load_backbone_weights
from vidzoo.models.two_stream import TwoStreamLate, flow_to_stacks


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_cnn_m_2048_parameter_count_pinned():
    """Temporal CNN-M-2048 for UCF101 (101 classes) with 2L = 20 input channels, counted by hand:
    conv1 20*96*49+96, conv2 96*256*25+256, conv3 256*512*9+512, conv4/5 512*512*9+512,
    full6 (512*6*6)*4096+4096, full7 4096*2048+2048, fc 2048*101+101."""
    with torch.device("meta"):
        temporal = build_model("two_stream_temporal", 101, flow_length=10)
        spatial = build_model("two_stream_spatial", 101)
    expected = (94_176 + 614_656 + 1_180_160 + 2 * 2_359_808 + 75_501_568 + 8_390_656 + 206_949)
    assert n_params(temporal) == expected == 90_707_781
    assert n_params(spatial) == expected - 17 * 96 * 49  # 3 instead of 20 input channels


def test_cnn_m_conv5_map_is_13x13_and_pool5_6x6():
    net = build_backbone("cnn_m_2048", 3, 10)
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        f = net.features(x)
        assert f.shape == (1, 512, 13, 13)
        assert net.pool5[0](f).shape == (1, 512, 6, 6)


@pytest.mark.parametrize(
    "name,inputs",
    [
        ("two_stream_spatial_small", torch.randn(2, 3, 2, 56, 56)),
        ("two_stream_temporal_small", torch.randn(2, 2, 10, 56, 56)),  # two stacks of L=5
        ("two_stream_late_small", {"rgb": torch.randn(2, 3, 1, 56, 56), "flow": torch.randn(2, 2, 5, 56, 56)}),
        ("two_stream_conv_small", {"rgb": torch.randn(2, 3, 3, 56, 56), "flow": torch.randn(2, 2, 15, 56, 56)}),
        ("two_stream_residual_small", {"rgb": torch.randn(2, 3, 3, 56, 56), "flow": torch.randn(2, 2, 15, 56, 56)}),
    ],
)
def test_small_variants_output_shapes_and_backward(name, inputs):
    model = build_model(name, 9)
    out = model(inputs)
    assert out.shape == (2, 9) and torch.isfinite(out).all()
    sum(x.logsumexp(-1).mean() for x in [out, *getattr(model, "auxiliary_logits", [])]).backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not unused  # every parameter is used (DDP needs no find_unused_parameters)
    info = get_model_info(name)
    assert info.family == "Two-Stream" and set(info.inputs) <= {"rgb", "flow"}


def test_full_size_backbones_output_shapes():
    model = build_model("two_stream_temporal", 5, backbone="resnet18", flow_length=2).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 2, 2, 64, 64)).shape == (1, 5)
    with torch.device("meta"):  # shapes only: VGG-16 and ResNet-50 two-stream nets are slow to run on CPU
        for name, backbone in (("two_stream_conv", "vgg16"), ("two_stream_residual", "resnet50")):
            extra = {"pool_frames": 3} if name == "two_stream_conv" else {}
            model = build_model(name, 7, backbone=backbone, flow_length=2, **extra).eval()
            out = model({"rgb": torch.zeros(2, 3, 3, 224, 224), "flow": torch.zeros(2, 2, 6, 224, 224)})
            assert out.shape == (2, 7)


def test_flow_stack_channel_order_is_x1_y1_x2_y2():
    flow = torch.zeros(1, 2, 4, 1, 1)
    for i in range(4):
        flow[0, 0, i], flow[0, 1, i] = 10 * i, 10 * i + 1
    stacks = flow_to_stacks(flow, 2)
    assert stacks.shape == (2, 4, 1, 1)
    assert stacks[:, :, 0, 0].tolist() == [[0, 1, 10, 11], [20, 21, 30, 31]]
    with pytest.raises(ValueError, match="flow_length"):
        flow_to_stacks(flow, 3)


def test_wrong_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="rgb\\+flow"):
        build_model("two_stream_late_small", 9)(torch.randn(1, 3, 1, 56, 56))
    with pytest.raises(ValueError, match="at least 5 frames"):
        build_model("two_stream_temporal_small", 9)(torch.randn(1, 2, 3, 56, 56))


def test_cross_modality_init_from_rgb_weights():
    rgb = build_backbone("resnet18", 3, 1000)  # stands in for a torchvision ImageNet state dict (same key names)
    temporal = build_model("two_stream_temporal", 101, backbone="resnet18", flow_length=10,
                           backbone_weights=rgb.state_dict())
    w = temporal.backbone.conv1.weight
    assert w.shape == (64, 20, 7, 7)
    expected = rgb.conv1.weight.mean(dim=1, keepdim=True)
    assert torch.allclose(w, expected.expand_as(w))
    assert torch.equal(temporal.backbone.layer3[0].conv2.weight, rgb.layer3[0].conv2.weight)
    assert temporal.backbone.fc.weight.shape == (101, 512)  # 1000-class fc left fresh
    assert torch.allclose(cross_modality_weight(torch.ones(2, 3, 1, 1), 4), torch.ones(2, 4, 1, 1))


def test_weights_that_do_not_fit_name_their_source():
    state = build_backbone("small", 3, 10).state_dict()
    with pytest.raises(BackboneWeightsError, match="r50.pth.*(missing|shape mismatch)"):
        load_backbone_weights(build_backbone("resnet18", 3, 10), state, source="r50.pth")
    with pytest.raises(ValueError, match="temporal_weights: does not fit"):
        build_model("two_stream_late_small", 9, temporal_weights=state)


def test_paper_dropout_defaults_and_last_layer_training():
    """Simonyan & Zisserman 2014: dropout 0.9 in the temporal net, 0.5 in the spatial net; the spatial net
    may train only its last layer on top of (ImageNet) features."""
    def dropouts(model):
        return sorted({m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)})

    with torch.device("meta"):
        assert dropouts(build_model("two_stream_temporal", 101)) == [0.9]
        assert dropouts(build_model("two_stream_spatial", 101)) == [0.5]
        late = build_model("two_stream_late", 101)
        assert dropouts(late.spatial) == [0.5] and dropouts(late.temporal) == [0.9]
    assert dropouts(build_model("two_stream_temporal_small", 9)) == [0.9]
    spatial = build_model("two_stream_spatial", 101, freeze_backbone=True)
    assert [n for n, p in spatial.named_parameters() if p.requires_grad] == ["backbone.classifier.7.weight",
                                                                              "backbone.classifier.7.bias"]
    assert all(p.requires_grad for p in build_model("two_stream_spatial_small", 9).parameters())


def test_late_fusion_averages_softmax_and_loads_streams():
    torch.manual_seed(0)
    spatial = build_model("two_stream_spatial_small", 9).eval()
    temporal = build_model("two_stream_temporal_small", 9).eval()
    late = build_model("two_stream_late_small", 9, fusion_weights=[1.0, 2.0], spatial_weights=spatial.state_dict(),
                       temporal_weights=temporal.state_dict()).eval()
    x = {"rgb": torch.randn(2, 3, 1, 56, 56), "flow": torch.randn(2, 2, 5, 56, 56)}
    with torch.no_grad():
        p = (spatial(x["rgb"]).softmax(-1) + 2 * temporal(x["flow"]).softmax(-1)) / 3
        assert torch.allclose(late(x).exp(), p, atol=1e-6)
        linear = TwoStreamLate(spatial, temporal, 9, fusion="linear", weights=(1.0, 2.0), freeze_streams=True)
        assert torch.allclose(linear(x), p, atol=1e-6)  # initialised to the weighted average
    assert [n for n, q in linear.named_parameters() if q.requires_grad] == ["fuse.weight", "fuse.bias"]


def test_mean_flow_subtraction_option_removes_uniform_motion():
    torch.manual_seed(0)
    on = build_model("two_stream_temporal_small", 9, mean_flow_subtraction=True).eval()
    off = build_model("two_stream_temporal_small", 9).eval()
    off.load_state_dict(on.state_dict())
    flow = torch.randn(2, 2, 5, 56, 56)
    shift = torch.tensor([3.0, -2.0]).view(1, 2, 1, 1, 1)  # camera pan: the same vector everywhere
    with torch.no_grad():
        assert torch.allclose(on(flow), on(flow + shift), atol=1e-5)
        assert not torch.allclose(off(flow), off(flow + shift), atol=1e-3)
