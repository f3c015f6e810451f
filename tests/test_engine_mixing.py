"""Mixup / cutmix in the trainer (``vidzoo.engine.mixing``): soft targets with the smoothing inside them (not in the
loss as well), draws fixed by (seed, epoch, batch, rank), and an exact resume with mixing on."""

from __future__ import annotations

import json

import pytest
import torch
from training_helpers import tiny_overrides

from vidzoo.cli import compose_or_explain
from vidzoo.config import TrainerConfig
from vidzoo.engine.experiment import build_trainer
from vidzoo.engine.mixing import BatchMixer


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 3, 2, 8, 8, generator=g), torch.tensor([0, 1, 2, 1])


def test_mixer_off_keeps_hard_labels_and_smoothing_in_the_loss():
    mixer = BatchMixer.from_config(TrainerConfig(label_smoothing=0.1))
    x, y = _batch()
    out, targets = mixer(x, y, 3, epoch=0, batch=0)
    assert out is x and targets is y and mixer.loss_smoothing == 0.1


def test_mixer_on_smooths_once_and_draws_from_seed_epoch_batch_rank():
    t = TrainerConfig(label_smoothing=0.1, mixup_alpha=0.8, cutmix_alpha=1.0, seed=5)
    mixer = BatchMixer.from_config(t)
    assert mixer.loss_smoothing == 0.0  # the soft targets carry it
    x, y = _batch()
    a, ta = mixer(x, y, 3, epoch=2, batch=7)
    b, tb = BatchMixer.from_config(t)(x, y, 3, epoch=2, batch=7)
    assert torch.equal(a, b) and torch.equal(ta, tb)  # a fresh mixer at the same place: the same mix
    assert not torch.equal(a, x) and torch.allclose(ta.sum(1), torch.ones(4))
    assert ta.min() >= 0.1 / 3 - 1e-6  # smoothing mass once: every class keeps at least smoothing / K
    others = [mixer(x, y, 3, epoch=e, batch=i)[1] for e in range(2) for i in range(3)]
    assert any(not torch.equal(o, ta) for o in others)
    other_rank = BatchMixer.from_config(t, rank=1)(x, y, 3, epoch=2, batch=7)[1]
    assert not torch.equal(other_rank, ta)
    _, unmixed = BatchMixer.from_config(TrainerConfig(label_smoothing=0.1, mixup_alpha=0.8, mix_prob=0.0))(x, y, 3, 0, 0)
    assert torch.allclose(unmixed.max(1).values, torch.full((4,), 0.9 + 0.1 / 3))


@pytest.mark.slow  # three short runs on the tiny set (about 15 s)
def test_resume_with_mixup_matches_uninterrupted(synthetic_root, tmp_path):
    mix = ["trainer.mixup_alpha=0.8", "trainer.cutmix_alpha=1.0", "trainer.label_smoothing=0.1",
           "sched.name=constant", "sched.warmup_epochs=0"]

    def run(out, *extra):
        return build_trainer(compose_or_explain(tiny_overrides(synthetic_root, out, *mix, *extra))).fit()

    ref = run(tmp_path / "ref", "trainer.epochs=2")
    run(tmp_path / "cut", "trainer.epochs=1")
    resumed = run(tmp_path / "cut", "trainer.epochs=2", "trainer.resume=true")
    hist = [json.loads(x) for x in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    again = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in again]
    assert ref["confusion_matrix"] == resumed["confusion_matrix"] and ref["steps"] == resumed["steps"]
    plain = run(tmp_path / "plain", "trainer.epochs=1", "trainer.mixup_alpha=0", "trainer.cutmix_alpha=0")
    assert plain["steps"] == ref["steps"] // 2
    first = json.loads((tmp_path / "plain" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["train_loss"] != hist[0]["train_loss"]  # mixing changed the loss
