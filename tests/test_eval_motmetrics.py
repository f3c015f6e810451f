"""CLEAR and identity metrics against py-motmetrics 1.4, and hand-made cases that pin where its CLEAR
conventions differ from TrackEval's (re-linking after a gap, fragmentations, MT >= 0.8, MOTP as 1 - IoU)."""

from __future__ import annotations

import numpy as np
import pytest

from eval_reference import motmetrics_summary, trackeval_data
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracking import evaluate_tracking
from vidzoo.eval.tracks import Sequence, Tracks

pytest.importorskip("motmetrics")
trackeval = pytest.importorskip("trackeval")

MM = ["idf1", "idp", "idr", "num_switches", "num_fragmentations", "mostly_tracked", "partially_tracked",
      "mostly_lost", "num_false_positives", "num_misses", "mota", "motp"]


def _ours(seqs, convention):
    rep = evaluate_tracking(seqs, metrics=("clear", "identity"), convention=convention)["combined"]
    c, i = rep["clear"], rep["identity"]
    return {"idf1": i["IDF1"], "idp": i["IDP"], "idr": i["IDR"], "num_switches": c["IDSW"],
            "num_fragmentations": c["Frag"], "mostly_tracked": c["MT"], "partially_tracked": c["PT"],
            "mostly_lost": c["ML"], "num_false_positives": c["CLR_FP"], "num_misses": c["CLR_FN"],
            "mota": c["MOTA"], "motp": c["MOTP"]}


def test_motmetrics_convention_equals_motmetrics_on_random_sequences():
    seqs = random_sequences(3, seed=3, num_frames=200, num_objects=8)
    ref = motmetrics_summary(seqs, MM)
    ours = _ours(seqs, "motmetrics")
    for k in MM:
        assert ours[k] == pytest.approx(ref[k], abs=1e-6), k
    default = _ours(seqs, "trackeval")  # identity metrics do not depend on the CLEAR convention
    for k in ("idf1", "idp", "idr"):
        assert default[k] == pytest.approx(ref[k], abs=1e-6), k


def _seq(gt_rows, pred_rows, num_frames):
    """Rows ``(frame, id, x1, y1, x2, y2)``."""
    g, p = np.array(gt_rows, float).reshape(-1, 6), np.array(pred_rows, float).reshape(-1, 6)
    return Sequence("hand", Tracks.build(g[:, 0], g[:, 1], g[:, 2:]), Tracks.build(p[:, 0], p[:, 1], p[:, 2:]),
                    num_frames)


BOX = [0, 0, 10, 10]
FAR = [100, 100, 110, 110]  # a false positive that keeps a frame "full" without touching the object


def _both(seq):
    ref = motmetrics_summary([seq], MM)
    te = trackeval.metrics.CLEAR({"PRINT_CONFIG": False}).eval_sequence(trackeval_data(seq))
    return _ours([seq], "trackeval"), _ours([seq], "motmetrics"), te, ref


def test_relink_after_gap_one_id_switch_only_in_trackeval():
    # Frame 0: track 7 covers the object. Frame 1: the object is missed. Frame 2: track 7 (IoU 0.6) and
    # track 8 (IoU 0.9) both cover it: TrackEval takes the better box (one ID switch), motmetrics re-links 7.
    seq = _seq([[0, 1, *BOX], [1, 1, *BOX], [2, 1, *BOX]],
               [[0, 7, *BOX], [1, 9, *FAR], [2, 7, 0, 0, 10, 6], [2, 8, 0, 0, 10, 9]], 3)
    te_conv, mm_conv, te, ref = _both(seq)
    assert te_conv["num_switches"] == te["IDSW"] == 1
    assert mm_conv["num_switches"] == ref["num_switches"] == 0


def test_absence_is_a_fragmentation_only_in_trackeval():
    # The object is tracked in frames 0-1, absent from the annotations in frame 2 (where another object is
    # tracked), tracked again in 3-4.
    seq = _seq([[f, 1, *BOX] for f in (0, 1, 3, 4)] + [[2, 2, *FAR]],
               [[f, 7, *BOX] for f in (0, 1, 3, 4)] + [[2, 9, *FAR]], 5)
    te_conv, mm_conv, te, ref = _both(seq)
    assert te_conv["num_fragmentations"] == te["Frag"] == 1
    assert mm_conv["num_fragmentations"] == ref["num_fragmentations"] == 0
    # Present but missed in frame 2 instead: one fragmentation for both.
    seq = _seq([[f, 1, *BOX] for f in range(5)], [[f, 7, *BOX] for f in (0, 1, 3, 4)] + [[2, 9, *FAR]], 5)
    te_conv, mm_conv, te, ref = _both(seq)
    assert te_conv["num_fragmentations"] == mm_conv["num_fragmentations"] == ref["num_fragmentations"] == 1


def test_mostly_tracked_boundary_and_motp_form():
    # Tracked in 4 of 5 frames (ratio exactly 0.8) with IoU 0.75 each time.
    seq = _seq([[f, 1, *BOX] for f in range(5)], [[f, 7, 0, 0, 10, 7.5] for f in range(4)] + [[4, 9, *FAR]], 5)
    te_conv, mm_conv, te, ref = _both(seq)
    assert (te_conv["mostly_tracked"], te_conv["partially_tracked"]) == (te["MT"], te["PT"]) == (0, 1)
    assert (mm_conv["mostly_tracked"], mm_conv["partially_tracked"]) == (ref["mostly_tracked"], 0) == (1, 0)
    assert te_conv["motp"] == pytest.approx(te["MOTP"]) == pytest.approx(0.75)
    assert mm_conv["motp"] == pytest.approx(ref["motp"]) == pytest.approx(0.25)
