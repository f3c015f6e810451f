"""REMIND: the buffer's byte budget, PQ reconstruction, the split of a zoo model, and one learner update."""

from __future__ import annotations

import pytest
import torch

from vidzoo.errors import ConfigValueError
from vidzoo.models import build_model
from vidzoo.streaming.pq import LABEL_BYTES, MapQuantizer, ReplayBuffer
from vidzoo.streaming.remind import Remind
from vidzoo.streaming.split import find_classifier, split_at


def test_buffer_never_exceeds_its_byte_budget_and_evicts_from_the_largest_class() -> None:
    entry = torch.zeros(16, 8, dtype=torch.uint8)
    size = entry.numel() + LABEL_BYTES
    buf = ReplayBuffer(budget_bytes=10 * size + 5, seed=0)
    for i in range(12):
        buf.add(entry, 0)
        assert buf.used <= buf.budget
    assert len(buf) == 10 and buf.used == 10 * size
    for i in range(4):
        buf.add(entry, 1)  # class 0 holds the most: it pays for every new entry
        assert buf.used <= buf.budget
    assert {k: len(v) for k, v in buf.entries.items()} == {0: 6, 1: 4}
    with pytest.raises(ConfigValueError, match="buffer_bytes"):
        ReplayBuffer(budget_bytes=size - 1).add(entry, 0)


def test_product_quantiser_round_trip() -> None:
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(40, 16, 1, 4, 4, generator=gen)
    q = MapQuantizer(16, num_subvectors=4, nbits=6)
    q.train(maps)
    codes = q.encode(maps[:3])
    assert codes.shape == (3, 16, 3) and codes.dtype == torch.uint8  # 4 codes x 6 bits, packed in 3 bytes
    rec = q.decode(codes)
    assert rec.shape == (3, 16, 1, 4, 4)
    assert (rec - maps[:3]).pow(2).mean() < 0.8 * maps[:3].pow(2).mean()  # much closer than zero
    with pytest.raises(ConfigValueError, match="divide"):
        MapQuantizer(16, num_subvectors=5)


def test_split_reproduces_the_model_and_refuses_a_non_cut_point() -> None:
    torch.manual_seed(0)
    model = build_model("r3d_small", num_classes=5).eval()
    x = torch.randn(2, 3, 8, 56, 56)
    parts = split_at(model, "layer3.0.relu")
    with torch.no_grad():
        assert torch.allclose(parts.top(parts.bottom(x)), model(x), atol=1e-5)
    with pytest.raises(ConfigValueError, match="'layer3.0.conv1.1' is not a cut point.*choose one of: stem.0"):
        split_at(model, "layer3.0.conv1.1")  # inside a residual block: the skip reads its input too
    with pytest.raises(ConfigValueError, match="not a submodule called"):
        split_at(model, "layer9")
    assert find_classifier(model, x, 5).name == "fc"


def test_remind_updates_the_top_and_learns_a_new_class_within_budget() -> None:
    torch.manual_seed(0)
    model = build_model("c3d_small", num_classes=3)
    top = split_at(model, "features.pool4").top
    maps = torch.randn(30, 64, 1, 4, 4)
    labels = torch.arange(3).repeat(10)
    budget = 20 * (16 * 8 + LABEL_BYTES)
    learner = Remind(top, "fc8", buffer_bytes=budget, num_subvectors=8, nbits=5, replay_size=4)
    learner.fit_base(maps, labels)
    before = learner.top.module.get_submodule("features.conv5a.0").weight.clone()
    for _ in range(5):
        learner.update(torch.randn(64, 1, 4, 4) + 2.0, 3)  # class 3: never told about -> added
        assert learner.buffer.used <= budget
    assert learner.top.num_classes == 4 and 3 in learner.classes.known
    assert not torch.equal(before, learner.top.module.get_submodule("features.conv5a.0").weight)
    assert learner.scores(maps[:2]).shape == (2, 4)
