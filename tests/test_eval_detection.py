"""Frame-level detection AP (against pycocotools), the AP interpolations, speed-based mAP and Average Delay."""

from __future__ import annotations

import numpy as np
import pytest

from eval_reference import pycocotools_stats
from vidzoo.eval.ap import average_precision, pr_curve
from vidzoo.eval.delay import average_delay
from vidzoo.eval.detection import detection_map
from vidzoo.eval.speed import motion_iou, speed_map
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracks import Sequence, Tracks


def test_coco_map_equals_pycocotools():
    pytest.importorskip("pycocotools")
    seqs = random_sequences(6, seed=5, num_frames=150, num_objects=10, jitter=0.12)
    ours = detection_map(seqs, method="coco")
    stats = pycocotools_stats(seqs)
    assert 0.1 < ours["mAP@[.5:.95]"] < 0.9
    assert ours["mAP@[.5:.95]"] == pytest.approx(stats[0], abs=1e-6)
    assert ours["mAP@0.5"] == pytest.approx(stats[1], abs=1e-6)
    assert ours["mAP@0.75"] == pytest.approx(stats[2], abs=1e-6)


def test_interpolations_on_a_hand_computed_curve():
    # 4 ground truths; ranked detections: TP, FP, TP, TP -> recall .25 .25 .5 .75, precision 1 .5 .667 .75
    rec, prec = pr_curve(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 1], bool), np.zeros(4, bool), 4)
    assert rec.tolist() == [0.25, 0.25, 0.5, 0.75]
    assert average_precision(rec, prec, "all") == pytest.approx(0.25 * 1 + 0.5 * 0.75)
    # 11-point: recall >= 0, .1, .2 -> 1; .3 .. .7 -> .75; .8 .. 1 -> 0
    assert average_precision(rec, prec, "voc11") == pytest.approx((3 * 1 + 5 * 0.75) / 11)
    # 101-point: r in [0, .25] (26 points) -> 1, (.25, .75] (50 points) -> .75, the rest 0
    assert average_precision(rec, prec, "coco") == pytest.approx((26 * 1 + 50 * 0.75) / 101)
    with pytest.raises(ValueError, match="unknown AP method"):
        average_precision(rec, prec, "voc12")


def _one_object(gt_frames, det_frames, box_of=lambda f: [0, 0, 10, 10], num_frames=30, fps=()):
    g = Tracks.build(gt_frames, [1] * len(gt_frames), [box_of(f) for f in gt_frames])
    rows = [(f, 9, box_of(f), 0.9) for f in det_frames] + [(f, 50 + i, [200, 200, 210, 210], s)
                                                            for i, (f, s) in enumerate(fps)]
    p = Tracks.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
    return Sequence("toy", g, p, num_frames)


def test_detection_three_frames_late_has_delay_three():
    seq = _one_object(range(2, 20), range(5, 20))
    ad = average_delay([seq])
    assert ad["num_objects"] == 1 and ad["AD"] == 3.0
    # A false positive scoring above the detection: at 1 FP per 30 frames (rate < 1/30) the threshold rises
    # above 0.9, the object is never detected and counts its whole span (18 frames).
    seq = _one_object(range(2, 20), range(5, 20), fps=[(0, 0.95)])
    ad = average_delay([seq], fp_rates=(0.01, 0.04))
    assert ad["per_rate"][0.01]["delay"] == 18.0 and ad["per_rate"][0.04]["delay"] == 3.0
    assert ad["AD"] == pytest.approx(10.5)


def test_fast_object_lands_in_the_fast_bin():
    # Moves 4 px per frame with a 10 px box: the box 10 frames away does not overlap (motion IoU 0).
    fast = lambda f: [4 * f, 0, 4 * f + 10, 10]  # noqa: E731
    seq = _one_object(range(0, 30), range(0, 30), box_of=fast)
    m = motion_iou(seq.gt)
    assert np.all(m == 0.0)
    res = speed_map([seq])
    assert res["fast"]["num_gt"] == 30 and res["fast"]["mAP"] == 1.0
    assert res["slow"]["num_gt"] == 0 and np.isnan(res["slow"]["mAP"])
    # A still object is slow (motion IoU 1); one moving 0.2 px/frame with a 10 px box: IoU(2 px) = 8/12.
    assert np.all(motion_iou(_one_object(range(30), []).gt) == 1.0)
    slowish = _one_object(range(30), [], box_of=lambda f: [0.2 * f, 0, 0.2 * f + 10, 10])
    assert motion_iou(slowish.gt)[15] == pytest.approx(8 / 12)
