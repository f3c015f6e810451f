"""Label blocks (multi-task training, ``data.joint``): the per-block cross-entropy on hand-made logits, the
primary-block view of a model, and the joint training set's labels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from vidzoo.data.joint import JointTrainSet
from vidzoo.engine.label_blocks import (
    BlockCrossEntropy,
    PrimaryBlock,
    block_cross_entropy,
    num_outputs,
    primary_block,
    training_loss,
)

BLOCKS = [(0, 3), (3, 5)]  # a 3-class primary dataset, then a 2-class joint one


def test_loss_is_the_mean_of_each_samples_ce_within_its_block():
    logits = torch.tensor([[2.0, 0.5, -1.0, 9.0, -9.0],
                           [0.0, 1.0, 0.0, 4.0, 3.0],
                           [1.0, 1.0, 1.0, -2.0, 2.0]])
    labels = torch.tensor([0, 4, 3])
    expected = (F.cross_entropy(logits[0:1, 0:3], torch.tensor([0]))
                + F.cross_entropy(logits[1:2, 3:5], torch.tensor([1]))
                + F.cross_entropy(logits[2:3, 3:5], torch.tensor([0]))) / 3
    assert block_cross_entropy(logits, labels, BLOCKS) == pytest.approx(float(expected), rel=1e-6)
    # the plain softmax over all five logits gives another number: the blocks are separate softmax layers
    assert float(F.cross_entropy(logits, labels)) != pytest.approx(float(expected), rel=1e-3)


def test_other_blocks_logits_change_neither_loss_nor_get_gradient():
    torch.manual_seed(0)
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 2, 3, 4, 1])
    loss = block_cross_entropy(logits, labels, BLOCKS, label_smoothing=0.1)
    changed = logits.clone()
    primary, joint = labels < 3, labels >= 3
    changed[primary, 3:] += torch.tensor([50.0, -7.0])  # the joint block of primary samples
    changed[joint, :3] -= torch.tensor([3.0, 80.0, 1.0])  # the primary block of joint samples
    assert float(block_cross_entropy(changed, labels, BLOCKS, label_smoothing=0.1)) == pytest.approx(float(loss), rel=1e-6)
    x = logits.clone().requires_grad_(True)
    BlockCrossEntropy(BLOCKS, 0.1)(x, labels).backward()
    assert torch.all(x.grad[primary][:, 3:] == 0) and torch.all(x.grad[joint][:, :3] == 0)
    assert torch.all(x.grad[primary][:, :3] != 0) and torch.all(x.grad[joint][:, 3:] != 0)


def test_label_outside_every_block_is_refused():
    with pytest.raises(ValueError, match="outside every label block"):
        block_cross_entropy(torch.zeros(2, 5), torch.tensor([0, 5]), BLOCKS)


def test_without_blocks_the_loss_and_model_are_the_plain_ones():
    assert type(training_loss(0.1, {"modality": "rgb"})) is nn.CrossEntropyLoss
    assert type(training_loss(0.0, None)) is nn.CrossEntropyLoss
    model = nn.Linear(4, 5)
    assert primary_block(model, {"modality": "rgb"}) is model
    assert num_outputs({}, 7) == 7


def test_primary_block_scores_only_the_first_block():
    prep = {"label_blocks": [{"source": "ucf101", "start": 0, "stop": 3, "classes": list("abc")},
                             {"source": "hmdb51", "start": 3, "stop": 5, "classes": list("de")}]}
    assert num_outputs(prep, 3) == 5
    assert isinstance(training_loss(0.0, prep), BlockCrossEntropy)
    model = nn.Linear(4, 5)
    view = primary_block(model, prep)
    assert isinstance(view, PrimaryBlock)
    x = torch.randn(2, 4)
    assert torch.equal(view(x), model(x)[:, :3])


class _Labels(Dataset):
    def __init__(self, labels: list[int]) -> None:
        self.items, self.epoch = labels, 0

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return {"inputs": torch.zeros(1), "label": self.items[i], "index": i}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def labels(self) -> list[int]:
        return list(self.items)


def test_joint_train_set_moves_labels_into_blocks():
    first, second = _Labels([0, 2, 1]), _Labels([1, 0])
    joint = JointTrainSet([(first, 0), (second, 3)])
    assert len(joint) == 5
    assert [joint[i]["label"] for i in range(5)] == [0, 2, 1, 4, 3] == joint.labels
    assert [joint[i]["index"] for i in range(5)] == list(range(5))
    joint.set_epoch(4)
    assert first.epoch == second.epoch == 4
    with pytest.raises(IndexError):
        joint[5]


def _meta(blocks: list[dict], num_classes: int = 5, names: int = 3) -> dict:
    return {"model": {"name": "c3d_small", "num_classes": num_classes, "kwargs": {}},
            "class_names": list("abcde")[:names], "preprocessing": {"label_blocks": blocks}}


def test_checkpoint_label_blocks_are_checked_against_num_classes():
    from vidzoo.engine.ckpt_meta import check_model_spec
    from vidzoo.errors import CheckpointError

    good = [{"source": "ucf101", "start": 0, "stop": 3, "classes": list("abc")},
            {"source": "hmdb51", "start": 3, "stop": 5, "classes": list("de")}]
    assert check_model_spec(_meta(good), "meta.json")[1] == 5  # three primary names for five outputs
    with pytest.raises(CheckpointError, match="'class_names' must be a list of 3"):
        check_model_spec(_meta(good, names=5), "meta.json")
    with pytest.raises(CheckpointError, match="ends at class 5, not at model.num_classes=6"):
        check_model_spec(_meta(good, num_classes=6), "meta.json")
    gap = [good[0], {**good[1], "start": 4}]
    with pytest.raises(CheckpointError, match=r"label_blocks\[1\]"):
        check_model_spec(_meta(gap), "meta.json")
    with pytest.raises(CheckpointError, match=r"label_blocks\[0\]"):
        check_model_spec(_meta([{**good[0], "classes": ["a"]}, good[1]]), "meta.json")
