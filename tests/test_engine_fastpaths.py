"""The trainer's fast paths run on CPU too, so CI catches breakage: bf16 autocast, channels_last_3d,
torch.compile (and its eager fallback), gradient accumulation, uint8 inputs normalised on the device."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vidzoo.data.dataset import collate_clips
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.schedule import LRSchedule
from vidzoo.config import TrainerConfig
from vidzoo.engine.trainer import Trainer, resolve_precision

CLASSES = ["a", "b", "c"]


class Clips(Dataset):
    """Class k = a bright blob moving in direction k: learnable only from motion."""

    def __init__(self, n: int, uint8: bool = False) -> None:
        g = torch.Generator().manual_seed(0)
        self.items = []
        for i in range(n):
            label = i % 3
            x = torch.rand(3, 4, 16, 16, generator=g) * 0.2
            for t in range(4):
                pos = 4 + t * (label - 1) * 2
                x[:, t, 6:10, pos:pos + 4] = 1.0
            self.items.append((x.mul(255).to(torch.uint8) if uint8 else x, label, i))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        x, y, idx = self.items[i]
        return {"inputs": x, "label": y, "index": idx}


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU(), nn.AdaptiveAvgPool3d(1),
                         nn.Flatten(), nn.Linear(8, 3))


def make_trainer(tmp_path, **kw) -> Trainer:
    uint8 = kw.pop("uint8", False)
    batch = kw.pop("batch", 6)
    loader = DataLoader(Clips(24, uint8), batch_size=batch, shuffle=False, collate_fn=collate_clips)
    val = DataLoader(Clips(9, uint8), batch_size=9, collate_fn=collate_clips)
    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    settings = TrainerConfig(epochs=kw.pop("epochs", 2), output_dir=str(tmp_path), device="cpu", grad_clip=0.0,
                             precision=kw.pop("precision", "fp32"), progress=False, tensorboard=False, **kw)
    sched = LRSchedule(0.1, total_steps=100, steps_per_epoch=len(loader), name="constant")
    meta = {"model": {"name": "tiny", "kwargs": {}, "num_classes": 3}, "class_names": CLASSES}
    return Trainer(model, opt, sched, loader, val, settings, meta, CLASSES, device=torch.device("cpu"))


@pytest.mark.parametrize("opts", [{"precision": "bf16"}, {"channels_last": True}, {"precision": "bf16", "channels_last": True}])
def test_bf16_and_channels_last_train_on_cpu(tmp_path, opts):
    trainer = make_trainer(tmp_path, **opts)
    if opts.get("channels_last"):
        w = trainer.raw_model[0].weight
        assert w.is_contiguous(memory_format=torch.channels_last_3d)
    report = trainer.fit()
    assert report["precision"] == opts.get("precision", "fp32")
    hist = trainer.state.history
    assert all(torch.isfinite(torch.tensor(h["train_loss"])) for h in hist)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] + 1e-6


def test_uint8_batches_are_normalised_on_the_device_identically(tmp_path):
    prep = InputPreparer(torch.device("cpu"), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    x = torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8)
    out = prep(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out, (x.float() / 255 - 0.5) / 0.25)
    assert prep({"rgb": x})["rgb"].dtype == torch.float32


def test_grad_accumulation_matches_large_batch(tmp_path):
    a = make_trainer(tmp_path / "a", batch=24, epochs=1)
    b = make_trainer(tmp_path / "b", batch=12, grad_accum=2, epochs=1)
    for t in (a, b):
        t.raw_model[1] = nn.Identity()  # BatchNorm statistics differ per micro-batch; remove it for the comparison
        t.optimizer = torch.optim.SGD(t.raw_model.parameters(), lr=0.1)
        t.train_epoch(0)
    for p, q in zip(a.raw_model.parameters(), b.raw_model.parameters()):
        assert torch.allclose(p, q, atol=1e-6)
    assert a.state.step == b.state.step == 1


def test_compile_failure_falls_back_to_eager(tmp_path, monkeypatch):
    def broken_compile(model, **kw):
        def fails(*a, **k):
            raise RuntimeError("backend exploded")
        return fails

    monkeypatch.setattr(torch, "compile", broken_compile)
    trainer = make_trainer(tmp_path, compile=True, epochs=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit()
    assert any("eager" in str(w.message) for w in caught)
    assert trainer.forward_model is trainer.model


@pytest.mark.slow
def test_torch_compile_really_trains_on_cpu(tmp_path):
    trainer = make_trainer(tmp_path, compile=True, epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a silent fallback would hide a broken compile
        trainer.fit()
    assert trainer.forward_model is not trainer.model


def test_precision_resolution():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "fp32"
    with pytest.raises(ValueError, match="bf16 on CPU"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="choose"):
        resolve_precision("int8", cpu)
