"""3D CNN + LSTM (Baccouche-style): shapes, clip splitting, order dependence, pre-trained frozen encoder."""

from __future__ import annotations

import pytest
import torch

from vidzoo.models import build_model, get_model_info

NAMES = ["cnn_lstm", "cnn_lstm_small", "cnn_lstm_encoder", "cnn_lstm_encoder_small"]


@pytest.mark.parametrize("name", NAMES)
def test_shapes(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, num_classes=7)
    out = model(torch.randn(2, *get_model_info(name).input_shape))
    assert out.shape == (2, 7)
    out.sum().backward()


def test_full_param_count_pinned() -> None:
    c1 = 3 * 7 * 5 * 7 * 7 + 7  # 7 maps, 7x7x5 kernels
    c2 = 7 * 35 * 3 * 7 * 7 + 35  # 35 maps, 7x7x3 kernels
    c3 = 35 * 5 * 3 * 9 * 4 + 5  # 5 maps covering the remaining 3x9x4 volume
    lstm = 4 * 50 * (5 + 50 + 2)  # input, recurrent weights and two bias vectors per gate
    fc = 50 * 6 + 6
    model = build_model("cnn_lstm", num_classes=6)
    assert sum(p.numel() for p in model.parameters()) == c1 + c2 + c3 + lstm + fc == 71_813


def test_takes_any_number_of_clips_and_encodes_each_clip_separately() -> None:
    torch.manual_seed(0)
    model = build_model("cnn_lstm_small", num_classes=9).eval()
    x = torch.randn(2, 3, 12, 56, 56)  # 3 clips of 4 frames
    feats = []
    model.lstm.register_forward_hook(lambda m, i, o: feats.append(i[0]))
    with torch.no_grad():
        assert model(x).shape == (2, 9)
        for k in range(3):
            assert torch.allclose(feats[k], model.encoder(x[:, :, 4 * k : 4 * k + 4]), atol=1e-5)


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_output_depends_on_clip_order(readout: str) -> None:
    torch.manual_seed(0)
    model = build_model("cnn_lstm_small", num_classes=9, readout=readout).eval()
    x = torch.randn(2, 3, 16, 56, 56)
    reversed_clips = torch.cat([x[:, :, 4 * k : 4 * k + 4] for k in reversed(range(4))], dim=2)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(reversed_clips), atol=1e-5)
        encoded = model.encoder(reversed_clips[:, :, :4])
        assert torch.allclose(encoded, model.encoder(x[:, :, 12:16]), atol=1e-5)  # same clips, other order


def test_frames_not_a_multiple_of_clip_len() -> None:
    model = build_model("cnn_lstm_small", num_classes=9)
    with pytest.raises(ValueError, match="data.sampler=sequence"):
        model(torch.randn(1, 3, 10, 56, 56))


def _pretrained_encoder() -> torch.nn.Module:
    torch.manual_seed(1)
    return build_model("cnn_lstm_encoder_small", num_classes=9)


def test_two_step_is_the_default_with_pretrained_weights() -> None:
    """Stage 2 of the paper's recipe: given stage-1 weights the encoder is loaded and frozen; a training step
    changes the LSTM and its classifier and leaves every encoder tensor as it was."""
    clip_model = _pretrained_encoder()
    model = build_model("cnn_lstm_small", num_classes=9, encoder_weights=clip_model.state_dict())
    for key, value in clip_model.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[key], value)
    model.train()
    assert not model.encoder.training and model.lstm.training  # frozen encoder keeps its BN statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 8, 56, 56)), torch.tensor([0, 1])).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    opt.step()
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))
    assert not torch.equal(before["lstm.weight_ih"], after["lstm.weight_ih"])


def test_end_to_end_options() -> None:
    """No stage-1 weights: end to end from scratch; freeze_encoder=False fine-tunes a pre-trained encoder."""
    clip_model = _pretrained_encoder()
    bare = build_model("cnn_lstm_small", num_classes=9, encoder_weights=clip_model.encoder.state_dict(),
                       freeze_encoder=False)  # a bare encoder state dict (no "encoder." prefix) fits too
    assert torch.equal(bare.encoder.c1[0].weight, clip_model.encoder.c1[0].weight)
    assert all(p.requires_grad for p in bare.encoder.parameters())
    assert all(p.requires_grad for p in build_model("cnn_lstm_small", num_classes=9).parameters())


def test_bad_encoder_weights() -> None:
    full = build_model("cnn_lstm_encoder", num_classes=6)
    with pytest.raises(ValueError, match="do not fit"):
        build_model("cnn_lstm_small", num_classes=9, encoder_weights=full.state_dict())
    with pytest.raises(ValueError, match="needs encoder_weights"):
        build_model("cnn_lstm_small", num_classes=9, freeze_encoder=True)
