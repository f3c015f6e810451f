"""LR schedules and metrics against hand-computed values."""

import math

import numpy as np
import pytest

from vidzoo.engine.metrics import classification_report, confusion_matrix, per_class_accuracy, topk_accuracy
from vidzoo.engine.schedule import LRSchedule


def test_cosine_with_warmup():
    s = LRSchedule(base_lr=1.0, total_steps=110, steps_per_epoch=10, warmup_steps=10)
    assert s(0) == pytest.approx(0.1)
    assert s(9) == pytest.approx(1.0)
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.5)
    assert s(110) == pytest.approx(0.0, abs=1e-12)


def test_step_schedule_and_unknown_name():
    s = LRSchedule(base_lr=1.0, total_steps=100, steps_per_epoch=10, name="step", step_epochs=(3, 6), gamma=0.1)
    assert [s(29), s(30), s(60)] == pytest.approx([1.0, 0.1, 0.01])
    with pytest.raises(ValueError, match="cosine, step, constant"):
        LRSchedule(base_lr=1.0, total_steps=1, steps_per_epoch=1, name="poly")


def test_topk_and_confusion():
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    labels = np.array([0, 1, 1])
    assert topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(scores, labels, 2) == pytest.approx(1.0)
    cm = confusion_matrix(scores.argmax(1), labels, 3)
    assert cm.tolist() == [[1, 0, 0], [1, 0, 1], [0, 0, 0]]
    acc = per_class_accuracy(cm)
    assert acc[0] == 1.0 and acc[1] == 0.0 and math.isnan(acc[2])


def test_report_video_vs_clip_level():
    # two videos, two views each; the mean over views is right even though one view is wrong
    video = np.array([[0.6, 0.4], [0.2, 0.8]])
    clip = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.2, 0.8]])
    r = classification_report(video, np.array([0, 1]), clip, np.array([0, 0, 1, 1]), ["a", "b"])
    assert r["video_top1"] == 1.0 and r["clip_top1"] == 0.75
    assert r["per_class_accuracy"] == {"a": 1.0, "b": 1.0}
