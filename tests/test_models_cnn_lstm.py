"""3D CNN + LSTM (Baccouche-style): shapes, clip splitting, order dependence, pre-trained frozen encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

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


def _pretrained_encoder(tmp_path: Path) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(1)
    clip_model = build_model("cnn_lstm_encoder_small", num_classes=9)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    save_file({k: v.contiguous() for k, v in clip_model.state_dict().items()}, str(ckpt / "model.safetensors"))
    return clip_model, ckpt


def test_loads_and_freezes_pretrained_encoder(tmp_path: Path) -> None:
    clip_model, ckpt = _pretrained_encoder(tmp_path)
    model = build_model("cnn_lstm_small", num_classes=9, encoder_weights=str(ckpt), freeze_encoder=True)
    for key, value in clip_model.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[key], value)
    model.train()
    assert not model.encoder.training and model.lstm.training  # frozen encoder keeps its BN statistics
    out = model(torch.randn(2, 3, 8, 56, 56))
    out.sum().backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.lstm.parameters())
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    model(torch.randn(2, 3, 8, 56, 56))
    assert all(torch.equal(before[k], v) for k, v in model.encoder.state_dict().items())


def test_loads_bare_encoder_file(tmp_path: Path) -> None:
    clip_model, _ = _pretrained_encoder(tmp_path)
    file = tmp_path / "encoder.safetensors"
    save_file({k: v.contiguous() for k, v in clip_model.encoder.state_dict().items()}, str(file))
    model = build_model("cnn_lstm_small", num_classes=9, encoder_weights=str(file))
    assert torch.equal(model.encoder.c1[0].weight, clip_model.encoder.c1[0].weight)
    assert all(p.requires_grad for p in model.encoder.parameters())  # end to end unless frozen


def test_bad_encoder_weights(tmp_path: Path) -> None:
    pickle = tmp_path / "encoder.pt"
    pickle.write_bytes(b"not read")
    with pytest.raises(ValueError, match="only .safetensors"):
        build_model("cnn_lstm_small", num_classes=9, encoder_weights=str(pickle))
    with pytest.raises(ValueError, match="does not exist"):
        build_model("cnn_lstm_small", num_classes=9, encoder_weights=str(tmp_path / "missing"))
    full = build_model("cnn_lstm_encoder", num_classes=6)
    file = tmp_path / "full.safetensors"
    save_file({k: v.contiguous() for k, v in full.state_dict().items()}, str(file))
    with pytest.raises(ValueError, match="does not fit"):
        build_model("cnn_lstm_small", num_classes=9, encoder_weights=str(file))
    with pytest.raises(ValueError, match="needs encoder_weights"):
        build_model("cnn_lstm_small", num_classes=9, freeze_encoder=True)
