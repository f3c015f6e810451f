"""Track mAP against TrackEval's TrackMAP, and action-tube frame-/video-mAP on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from eval_reference import trackeval_track_map
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.track_map import track_map
from vidzoo.eval.tracks import Sequence, Tracks
from vidzoo.eval.tube_iou import spatiotemporal_iou
from vidzoo.eval.tubes import frame_map, video_map


def test_track_map_equals_trackeval():
    pytest.importorskip("trackeval")
    seqs = random_sequences(8, seed=13, num_frames=120, num_objects=8, swap_p=0.02, jitter=0.05)
    ours = track_map(seqs)
    assert 0.05 < ours["mAP"] < 0.95
    for c in range(3):
        ref = trackeval_track_map(seqs, c)
        np.testing.assert_allclose(ours["per_class"][c]["AP"], ref["AP_all"], atol=1e-6, err_msg=f"class {c}")
        np.testing.assert_allclose(ours["per_class"][c]["AR"], ref["AR_all"], atol=1e-6, err_msg=f"class {c}")


def _tube(frames, tid, box, score=1.0, cls=0):
    frames = list(frames)
    return [(f, tid, box, score, cls) for f in frames]


def _video(name, gt_rows, pred_rows, n=30):
    build = lambda rows: Tracks.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],  # noqa: E731
                                      [r[3] for r in rows], [r[4] for r in rows]) if rows else Tracks.empty()
    return Sequence(name, build(gt_rows), build(pred_rows), n)


BOX = [0, 0, 10, 10]


def test_spatiotemporal_iou_by_hand():
    # gt frames 0-9, prediction frames 5-14, same box: temporal IoU 5/15, spatial 1 -> 1/3.
    # A second prediction over frames 0-9 with half the box: IoU 0.5 each frame -> 0.5.
    v = _video("v", _tube(range(10), 1, BOX), _tube(range(5, 15), 7, BOX) + _tube(range(10), 8, [0, 0, 10, 5]))
    ious, gs, ps = spatiotemporal_iou(v.gt, v.pred)
    assert ious[:, 0] == pytest.approx([1 / 3, 0.5])


def test_video_map_by_hand():
    # Video a: gt tube class 0; predictions: 0.9 shifted tube (ST-IoU 1/3), 0.8 exact tube (1.0).
    # Video b: gt tube class 0 is never predicted; a class-1 tube has a class-1 gt (exact).
    a = _video("a", _tube(range(10), 1, BOX), _tube(range(5, 15), 7, BOX, 0.9) + _tube(range(10), 8, BOX, 0.8))
    b = _video("b", _tube(range(10), 1, BOX) + _tube(range(20, 30), 2, BOX, cls=1),
               _tube(range(20, 30), 9, BOX, 0.7, cls=1))
    res = video_map([a, b])
    # delta 0.2, class 0: ranked [TP(0.9, IoU 1/3), FP(0.8: the only gt of a is taken)]; 2 gt -> AP 0.5.
    # delta 0.5, class 0: [FP, TP] -> recall .5 at precision .5 -> AP 0.25. Class 1: AP 1 at every delta.
    assert res["AP"][0][0] == pytest.approx(0.5) and res["AP"][0][1] == pytest.approx(0.25)
    assert res["mAP@0.2"] == pytest.approx(0.75) and res["mAP@0.5"] == pytest.approx(0.625)
    assert res["mAP@0.5:0.95"] == pytest.approx(0.625)
    fm = frame_map([a, b])
    # Class 0 has 20 gt boxes. Ranked: 0.9 boxes at frames 5-9 (5 TP) and 10-14 (5 FP, no gt there), then
    # 0.8 boxes at frames 0-4 (5 TP) and 5-9 (5 FP, duplicates): recall .25 at precision 1, .5 at 2/3.
    assert fm["AP"][1] == pytest.approx(1.0)
    assert fm["AP"][0] == pytest.approx(0.25 * 1 + 0.25 * 2 / 3)
