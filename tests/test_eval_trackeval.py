"""Side by side with TrackEval 1.3 on random sequences: HOTA, CLEAR and Identity agree to 1e-6, per
sequence, combined over sequences, and per class (class- and detection-averaged)."""

from __future__ import annotations

import numpy as np
import pytest

from eval_reference import trackeval_data
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracking import evaluate_tracking

trackeval = pytest.importorskip("trackeval")

FIELDS = {
    "hota": ["HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "OWTA", "HOTA_TP", "HOTA_FN",
             "HOTA_FP", "HOTA(0)", "LocA(0)", "HOTALocA(0)"],
    "clear": ["MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA", "CLR_F1", "FP_per_frame",
              "MOTAL", "MOTP_sum", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "CLR_Frames"],
    "identity": ["IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP"],
}
REFERENCE = {"hota": trackeval.metrics.HOTA, "clear": trackeval.metrics.CLEAR, "identity": trackeval.metrics.Identity}


def _assert_same(ours: dict, ref: dict, where: str) -> None:
    for metric, fields in FIELDS.items():
        for f in fields:
            np.testing.assert_allclose(np.asarray(ours[metric][f], float), np.asarray(ref[metric][f], float),
                                       rtol=0, atol=1e-6, err_msg=f"{where} {metric} {f}")


def _reference(seqs, cls=None) -> tuple[dict, dict]:
    per_seq = {}
    metrics = {k: m({"PRINT_CONFIG": False}) if k != "hota" else m() for k, m in REFERENCE.items()}
    for s in seqs:
        s = s if cls is None else s.for_class(cls)
        data = trackeval_data(s)
        per_seq[s.name] = {k: m.eval_sequence(data) for k, m in metrics.items()}
    combined = {k: m.combine_sequences({n: r[k] for n, r in per_seq.items()}) for k, m in metrics.items()}
    return per_seq, combined


@pytest.fixture(scope="module")
def sequences():
    seqs = random_sequences(50, seed=7, num_frames=500)
    seqs[3] = type(seqs[3])(seqs[3].name, seqs[3].gt, seqs[3].pred.select(np.zeros(len(seqs[3].pred), bool)), 500)
    return seqs


def test_matches_trackeval_class_agnostic_50x500(sequences):
    ours = evaluate_tracking(sequences, metrics=("hota", "clear", "identity"))
    per_seq, combined = _reference(sequences)
    assert ours["combined"]["clear"]["IDSW"] > 20 and ours["combined"]["clear"]["Frag"] > 20
    assert ours["per_sequence"]["seq003"]["clear"]["CLR_TP"] == 0  # the sequence with no predictions
    for name, ref in per_seq.items():
        _assert_same(ours["per_sequence"][name], ref, name)
    _assert_same(ours["combined"], combined, "combined")


def test_matches_trackeval_per_class(sequences):
    seqs = sequences[:8]
    ours = evaluate_tracking(seqs, metrics=("hota", "clear", "identity"), per_class=True)
    per_class = {}
    for cls in range(3):
        _, per_class[cls] = _reference(seqs, cls)
        _assert_same(ours["per_class"][cls], per_class[cls], f"class {cls}")
    for k, m in REFERENCE.items():
        metric = m({"PRINT_CONFIG": False}) if k != "hota" else m()
        cls_av = metric.combine_classes_class_averaged({c: r[k] for c, r in per_class.items()})
        det_av = metric.combine_classes_det_averaged({c: r[k] for c, r in per_class.items()})
        for f in FIELDS[k]:
            np.testing.assert_allclose(ours["class_averaged"][k][f], cls_av[f], atol=1e-6, err_msg=f"cls-av {k} {f}")
            np.testing.assert_allclose(ours["det_averaged"][k][f], det_av[f], atol=1e-6, err_msg=f"det-av {k} {f}")
