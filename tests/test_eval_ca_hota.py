"""Class-aware HOTA: equal to HOTA when every prediction has its object's class, lower when one does not."""

from __future__ import annotations

import numpy as np

from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracking import evaluate_tracking
from vidzoo.eval.tracks import Sequence, Tracks


def test_ca_hota_equals_hota_with_one_class_and_drops_with_wrong_classes():
    seqs = random_sequences(3, seed=4, num_frames=80, num_objects=5, num_classes=1)
    rep = evaluate_tracking(seqs, metrics=("hota", "ca_hota"))["combined"]
    np.testing.assert_allclose(rep["ca_hota"]["HOTA"], rep["hota"]["HOTA"], atol=1e-12)
    # Relabel every prediction of the first sequence to another class: it can then match nothing.
    s = seqs[0]
    p = s.pred
    wrong = Sequence(s.name, s.gt, Tracks(p.frames, p.ids, p.boxes, p.scores, p.classes + 1), s.num_frames)
    one = evaluate_tracking([wrong], metrics=("hota", "ca_hota"))["combined"]
    assert np.all(one["ca_hota"]["HOTA"] == 0) and np.all(one["ca_hota"]["HOTA_FP"] == len(p))
    np.testing.assert_allclose(one["hota"]["HOTA"], evaluate_tracking([s], ("hota",))["combined"]["hota"]["HOTA"])
