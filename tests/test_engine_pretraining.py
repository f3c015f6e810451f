"""The shared trainer's unsupervised pre-training phase (``trainer.pretrain_epochs``): its own checkpoints under
``pretrain/``, frozen features during supervised training, resume, and one-line errors for bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training_helpers import tiny_overrides
from vidzoo.errors import ConfigValueError


def _build(root: Path, out: Path, *extra: str):
    from vidzoo.cli import compose_or_explain
    from vidzoo.engine.experiment import build_trainer

    return build_trainer(compose_or_explain(tiny_overrides(
        root, out, "model=conv_grbm_small", "trainer.epochs=1", "trainer.max_steps_per_epoch=1",
        "trainer.pretrain_epochs=2", "trainer.pretrain_lr=1e-2", *extra)))


def test_pretraining_runs_checkpoints_and_freezes(synthetic_root: Path, tmp_path: Path):
    out = tmp_path / "run"
    trainer = _build(synthetic_root, out)
    grbm = trainer.raw_model.grbm
    initial = {k: v.clone() for k, v in grbm.state_dict().items()}
    trainer.pretrainer.run()
    pretrained = {k: v.clone() for k, v in grbm.state_dict().items()}
    assert any(not torch.equal(initial[k], pretrained[k]) for k in initial)  # CD moved the weights
    assert all(not p.requires_grad for p in grbm.parameters())  # frozen again for supervised training
    records = [json.loads(line) for line in (out / "pretrain" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and all("recon_error" in r for r in records)
    assert json.loads((out / "pretrain" / "last.json").read_text())["path"] == "epoch_0002"

    trainer.pretrainer = None  # pre-training is done: the supervised phase alone
    report = trainer.fit()
    assert report["epochs"] == 1 and report["steps"] == 1
    after = grbm.state_dict()
    assert all(torch.equal(pretrained[k], after[k]) for k in pretrained)  # supervised training left them alone

    # A run into the same folder without resume refuses; with resume (no supervised checkpoint yet) it
    # continues pre-training from pretrain/last.json.
    import shutil

    shutil.rmtree(out / "checkpoints")
    for name in ("report.json", "metrics.jsonl", "curves.png", "confusion.png"):
        (out / name).unlink(missing_ok=True)
    with pytest.raises(Exception, match="trainer.resume=true"):
        _build(synthetic_root, out).fit()
    resumed = _build(synthetic_root, out, "trainer.resume=true", "trainer.pretrain_epochs=3")
    resumed.fit()
    records = [json.loads(line) for line in (out / "pretrain" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]  # epochs 1-2 reloaded, only epoch 3 run


def test_pretraining_settings_are_checked(synthetic_root: Path, tmp_path: Path):
    with pytest.raises(ConfigValueError, match="has no pre-training objective"):
        _build(synthetic_root, tmp_path / "a", "model=c3d_small")
    with pytest.raises(ConfigValueError, match="trainer.pretrain_epochs must be >= 0"):
        _build(synthetic_root, tmp_path / "b", "trainer.pretrain_epochs=-1")
