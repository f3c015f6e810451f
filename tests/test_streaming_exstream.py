"""ExStream: the count-weighted merge rule on a hand-made case, the per-class capacity, and replay vs forgetting."""

from __future__ import annotations

import copy

import torch
from torch import nn

from vidzoo.streaming.baselines import FineTune
from vidzoo.streaming.exstream import CentroidBuffer, ExStream
from vidzoo.streaming.heads import TrainableTop


def test_merge_rule_on_a_hand_made_case() -> None:
    buf = CentroidBuffer(capacity=3)
    for p in ([0.0, 0.0], [10.0, 0.0], [0.0, 1.0]):
        buf.add(torch.tensor(p), 7)
    buf.add(torch.tensor([5.0, 5.0]), 7)  # full: (0,0) and (0,1) are closest -> (0, 0.5) with count 2
    assert torch.allclose(buf.centroids[7], torch.tensor([[0.0, 0.5], [10.0, 0.0], [5.0, 5.0]]))
    assert buf.counts[7].tolist() == [2.0, 1.0, 1.0]
    buf.add(torch.tensor([10.0, 1.0]), 7)  # closest: (0,0.5)x2 and (5,5)x1 -> count-weighted (5/3, 2)
    assert torch.allclose(buf.centroids[7], torch.tensor([[5 / 3, 2.0], [10.0, 0.0], [10.0, 1.0]]))
    assert buf.counts[7].tolist() == [3.0, 1.0, 1.0]


def test_never_more_than_capacity_centroids_per_class_and_counts_add_up() -> None:
    buf = CentroidBuffer(capacity=4)
    gen = torch.Generator().manual_seed(0)
    seen = {0: 0, 1: 0, 2: 0}
    for i in range(120):
        y = int(torch.randint(3, (1,), generator=gen))
        buf.add(torch.randn(5, generator=gen), y)
        seen[y] += 1
        assert all(len(c) <= 4 for c in buf.centroids.values())
    assert {k: int(v.sum()) for k, v in buf.counts.items()} == seen


def _blobs(k: int, per_class: int, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=gen) * 3
    y = torch.arange(k).repeat_interleave(per_class)
    return centres[y] + torch.randn(len(y), d, generator=gen), y


def test_replay_keeps_old_classes_that_fine_tuning_forgets() -> None:
    x, y = _blobs(6, 40)
    test_x, test_y = _blobs(6, 20, seed=0)
    base = y < 2
    head = TrainableTop(nn.Linear(8, 6), lr=0.05)
    head.fit(x[base], y[base], epochs=20)  # the base phase's classifier, shared by both
    learners = {"exstream": ExStream(copy.deepcopy(head.module), capacity=5, replay_size=16, lr=0.05),
                "finetune": FineTune(copy.deepcopy(head.module), lr=0.05)}
    acc = {}
    for name, learner in learners.items():
        learner.fit_base(x[base], y[base])
        for xi, yi in zip(x[~base], y[~base].tolist()):  # class-incremental: 2, 3, 4, 5 in blocks
            learner.update(xi, yi)
        acc[name] = float((learner.scores(test_x).argmax(1) == test_y).float().mean())
    assert acc["exstream"] > 0.9 and acc["exstream"] - acc["finetune"] > 0.3, acc
