"""Karpathy et al. 2014 fusion family: shapes, pinned parameter counts, temporal connectivity."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidzoo.models import build_model, get_model_info, list_models
from vidzoo.models.karpathy import KarpathyNet

SMALL = ["karpathy_single_small", "karpathy_early_small", "karpathy_late_small", "karpathy_slow_small",
         "karpathy_multires_small"]
FULL = ["karpathy_single", "karpathy_early", "karpathy_late", "karpathy_slow", "karpathy_multires"]

# Layer spec from the paper: C(96,11,3)-N-P-C(256,5,1)-N-P-C(384,3,1)-C(384,3,1)-C(256,3,1)-P-FC4096-FC4096.
WIDTHS = [3, 96, 256, 384, 384, 256]
KERNELS = [11, 5, 3, 3, 3]
TEMPORAL = {"single": [1] * 5, "late": [1] * 5, "early": [10, 1, 1, 1, 1], "slow": [4, 2, 2, 1, 1]}


def conv_params(temporal: list[int]) -> int:
    return sum(k * k * kt * cin * cout + cout
               for k, kt, cin, cout in zip(KERNELS, temporal, WIDTHS[:-1], WIDTHS[1:]))


def fc_params(fc6_in: int, classes: int) -> int:
    return fc6_in * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * classes + classes


def expected_full_params(name: str, classes: int = 487) -> int:
    flat = 256 * 7 * 7  # every tower ends in 7x7x256 (170 px full frame, 89 px multires streams)
    fusion = name.removeprefix("karpathy_")
    if fusion == "multires":
        return 2 * conv_params(TEMPORAL["single"]) + fc_params(2 * flat, classes)
    towers_in_fc6 = 2 if fusion == "late" else 1
    return conv_params(TEMPORAL[fusion]) + fc_params(towers_in_fc6 * flat, classes)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_all_variants_registered() -> None:
    assert set(SMALL + FULL) <= set(list_models("karpathy_*"))


@pytest.mark.parametrize("name", FULL)
def test_full_param_count_and_shape(name: str) -> None:
    with torch.device("meta"):
        model = build_model(name, num_classes=487)
        out = model(torch.empty(2, *get_model_info(name).input_shape))
    assert n_params(model) == expected_full_params(name)
    assert out.shape == (2, 487)


def test_pinned_numbers() -> None:
    # The integers the README table quotes.
    assert expected_full_params("karpathy_single") == 73_908_071
    assert expected_full_params("karpathy_early") == 74_221_703
    assert expected_full_params("karpathy_late") == 125_288_295
    assert expected_full_params("karpathy_slow") == 75_511_751
    assert expected_full_params("karpathy_multires") == 129_035_495


@pytest.mark.parametrize("name", SMALL)
def test_small_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=9)
    x = torch.randn(2, *get_model_info(name).input_shape)
    out = model(x)
    assert out.shape == (2, 9)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def _eval_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, num_classes=9).eval()


def test_late_fusion_reads_only_first_and_last_frame() -> None:
    model = _eval_model("karpathy_late_small")
    x = torch.randn(2, 3, 10, 56, 56)
    with torch.no_grad():
        ref = model(x)
        middle = x.clone()
        middle[:, :, 1:9] = torch.randn_like(middle[:, :, 1:9])
        assert torch.allclose(model(middle), ref)
        for t in (0, 9):
            changed = x.clone()
            changed[:, :, t] += 1.0
            assert not torch.allclose(model(changed), ref, atol=1e-5)


def test_late_fusion_shares_tower_weights() -> None:
    model = build_model("karpathy_late_small", num_classes=9)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    assert len(convs) == 5 and all(c.kernel_size[0] == 1 for c in convs)  # one tower, applied to both frames


def test_single_frame_reads_only_middle_frame() -> None:
    model = _eval_model("karpathy_single_small")
    x = torch.randn(1, 3, 10, 56, 56)
    with torch.no_grad():
        ref = model(x)
        other = torch.randn_like(x)
        other[:, :, 5] = x[:, :, 5]
        assert torch.allclose(model(other), ref)


def test_early_fusion_reads_central_ten_frames() -> None:
    model = _eval_model("karpathy_early_small")
    conv1 = next(m for m in model.modules() if isinstance(m, nn.Conv3d))
    assert conv1.kernel_size == (10, 11, 11)
    x = torch.randn(1, 3, 12, 56, 56, requires_grad=True)
    model(x).sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1, 3, 4)) > 0
    assert touched.tolist() == [False] + [True] * 10 + [False]


def _frames_seen(tower_prefix: nn.Sequential, frames: int = 10) -> list[list[int]]:
    """For every output time step of ``tower_prefix``, the input frames it depends on (via gradients)."""
    x = torch.randn(1, 3, frames, 56, 56, requires_grad=True)
    y = tower_prefix(x)
    seen = []
    for t in range(y.shape[2]):
        (grad,) = torch.autograd.grad(y[:, :, t].sum(), x, retain_graph=True)
        seen.append([i for i in range(frames) if grad[:, :, i].abs().sum() > 0])
    return seen


def test_slow_fusion_temporal_receptive_field_grows() -> None:
    model = _eval_model("karpathy_slow_small")
    layers = list(model.tower.layers)
    conv_at = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv3d)]
    kernels = [(layers[i].kernel_size[0], layers[i].stride[0]) for i in conv_at]
    assert kernels == [(4, 2), (2, 2), (2, 2), (1, 1), (1, 1)]
    upto = lambda k: nn.Sequential(*layers[: conv_at[k] + 1])  # noqa: E731
    assert _frames_seen(upto(0)) == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [6, 7, 8, 9]]
    assert _frames_seen(upto(1)) == [[0, 1, 2, 3, 4, 5], [4, 5, 6, 7, 8, 9]]
    assert _frames_seen(upto(2)) == [list(range(10))]


def test_multires_streams_see_context_and_fovea() -> None:
    model = _eval_model("karpathy_multires_small")
    x = torch.randn(1, 3, 10, 56, 56)
    with torch.no_grad():
        ref = model(x)
        context_only = x.clone()
        context_only[..., :4, :] += 1.0  # outside the centre 28x28 crop: only the context stream sees it
        assert not torch.allclose(model(context_only), ref, atol=1e-5)
    # the fovea stream is fed the centre crop at full resolution
    fed: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            fed[name] = inputs[0]
        return hook

    model.fovea.register_forward_hook(keep("fovea"))
    model.context.register_forward_hook(keep("context"))
    with torch.no_grad():
        model(x)
    assert torch.equal(fed["fovea"], x[..., 14:42, 14:42])
    assert torch.allclose(fed["context"], nn.functional.avg_pool3d(x, (1, 2, 2)))


def test_full_multires_streams_end_in_7x7x256() -> None:
    with torch.device("meta"):
        model = build_model("karpathy_multires", num_classes=487)
        out = model.fovea(torch.empty(1, 3, 1, 89, 89))
    assert tuple(out.shape) == (1, 256, 1, 7, 7)


def test_lrn_in_full_and_batch_norm_in_small() -> None:
    with torch.device("meta"):
        full = build_model("karpathy_slow", num_classes=487)
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in full.modules()) == 2
    small = build_model("karpathy_slow_small", num_classes=9)
    assert sum(isinstance(m, nn.BatchNorm3d) for m in small.modules()) == 5


def test_bad_inputs_have_clear_messages() -> None:
    model = build_model("karpathy_slow_small", num_classes=9)
    with pytest.raises(ValueError, match="at least 10 frames"):
        model(torch.randn(1, 3, 8, 56, 56))
    with pytest.raises(ValueError, match="crop_size=56"):
        model(torch.randn(1, 3, 10, 64, 64))
    with pytest.raises(ValueError, match="unknown fusion"):
        KarpathyNet(9, fusion="medium")


def test_last_pool_off_keeps_a_4x4_map_on_cpu_inputs() -> None:
    with_pool = build_model("karpathy_late_small", 9, last_pool=True)
    without = build_model("karpathy_late_small", 9)  # the CPU variant's default
    assert with_pool.tower.spec.output_shape() == (64, 2, 2, 2)  # (C, two frames, H, W)
    assert without.tower.spec.output_shape() == (64, 2, 4, 4)
    assert not any(isinstance(m, nn.MaxPool3d) for m in list(without.tower.layers)[-3:])
    fc6 = [m for m in without.classifier if isinstance(m, nn.Linear)][0]
    assert fc6.in_features == 2 * 64 * 4 * 4  # two frames' maps meet at fc6
    assert without(torch.randn(2, 3, 8, 56, 56)).shape == (2, 9)
