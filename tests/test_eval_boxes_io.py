"""IoU matrices, thresholded optimal assignment, the flat per-frame pairing, and the JSON dump round trip."""

from __future__ import annotations

import numpy as np
import pytest

from vidzoo.eval.boxes import frame_pairs, iou_matrix, match, xywh_to_xyxy
from vidzoo.eval.errors import EvalInputError
from vidzoo.eval.load import load_sequences
from vidzoo.eval.readers import read_json, write_json
from vidzoo.eval.synthetic import random_sequences


def test_iou_matrix_by_hand():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]], float)  # the second box has zero area
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    assert m[0] == pytest.approx([50 / 150, 0.0, 1.0]) and np.all(m[1] == 0)
    assert xywh_to_xyxy([[1, 2, 3, 4]]).tolist() == [[1, 2, 4, 6]]


def test_match_is_optimal_and_respects_threshold():
    # Greedy would take (0, 0) = 0.9 and leave row 1 with nothing; the optimum pairs both rows.
    scores = np.array([[0.9, 0.8], [0.85, 0.1]])
    rows, cols = match(scores, threshold=0.5)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]
    rows, cols = match(scores, threshold=0.86)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0)]
    assert match(np.zeros((0, 3)))[0].size == 0


def test_frame_pairs_lists_each_frames_matrix_row_major():
    fa, fb = np.array([0, 0, 2]), np.array([0, 1, 2, 2])
    gi, pi = frame_pairs(fa, fb, 3)
    assert list(zip(gi.tolist(), pi.tolist())) == [(0, 0), (1, 0), (2, 2), (2, 3)]


def test_json_dump_round_trip_and_no_overwrite(tmp_path):
    seqs = random_sequences(2, seed=2, num_frames=40, num_objects=3)
    write_json(tmp_path / "gt.json", {s.name: s.gt for s in seqs}, {s.name: s.num_frames for s in seqs})
    write_json(tmp_path / "pred.json", {s.name: s.pred for s in seqs})
    tracks, lengths = read_json(tmp_path / "pred.json", is_gt=False)
    assert set(tracks) == {s.name for s in seqs} and lengths == {}
    back = load_sequences(tmp_path / "gt.json", tmp_path / "pred.json")
    for s, r in zip(seqs, back):
        assert r.num_frames == 40
        np.testing.assert_allclose(r.pred.boxes, s.pred.boxes)
        assert (r.pred.ids == s.pred.ids).all() and (r.gt.classes == s.gt.classes).all()
    with pytest.raises(EvalInputError, match="exists"):
        write_json(tmp_path / "gt.json", {})
    bad = '{"format": "vidzoo-tracks", "sequences": {"a": {"boxes": [[0, 1, 5, 5, 2, 9, 1, 0]]}}}'
    (tmp_path / "bad.json").write_text(bad)
    with pytest.raises(EvalInputError, match=r"sequences.a.boxes\[0\]: negative box width"):
        read_json(tmp_path / "bad.json", is_gt=True)


def test_mot_reader_classes_and_ignored_rows(tmp_path):
    from vidzoo.eval.readers import read_mot

    (tmp_path / "gt.txt").write_text("1,1,0,0,10,10,1,1,1\n1,2,20,0,10,10,0,1,1\n2,1,1,0,10,10,1,7,1\n")
    (tmp_path / "pred.txt").write_text("1,5,0,0,10,10,0.9,-1,-1,-1\n2,5,1,0,10,10,0.8\n")
    gt = read_mot(tmp_path / "gt.txt", is_gt=True)
    assert gt.frames.tolist() == [0, 1] and gt.classes.tolist() == [1, 7]  # the conf-0 row is dropped
    assert read_mot(tmp_path / "gt.txt", is_gt=True, drop_ignored=False).scores.tolist() == [1, 0, 1]
    pred = read_mot(tmp_path / "pred.txt", is_gt=False)
    assert pred.classes.tolist() == [1, 1] and pred.scores.tolist() == [0.9, 0.8]
    assert pred.boxes[1].tolist() == [1, 0, 11, 10]
