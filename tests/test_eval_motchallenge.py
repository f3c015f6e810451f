"""A MOT17-layout tree scored by vidzoo-eval-tracking (preset=mot17) and by TrackEval's own MOTChallenge
loader and evaluator: same HOTA, CLEAR and identity numbers, distractor preprocessing included."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from eval_reference import xywh
from vidzoo.eval.cli import main
from vidzoo.eval.load import load_sequences
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracking import evaluate_tracking

trackeval = pytest.importorskip("trackeval")


def _rows(tracks, extra):
    b = xywh(tracks)
    return [f"{int(f) + 1},{int(i)},{x:.3f},{y:.3f},{w:.3f},{h:.3f},{e}"
            for f, i, (x, y, w, h), e in zip(tracks.frames, tracks.ids, b, extra)]


def _mot17_tree(root, seqs, rng):
    gt_root, tr_root = root / "gt", root / "trackers"
    (gt_root / "seqmaps").mkdir(parents=True)
    (gt_root / "seqmaps" / "MOT17-train.txt").write_text("name\n" + "\n".join(s.name for s in seqs) + "\n")
    for s in seqs:
        # Per gt track: pedestrian (class 1), or a distractor class with conf 0; a few pedestrian boxes conf 0.
        ids = np.unique(s.gt.ids)
        cls_of = dict(zip(ids, rng.choice([1, 1, 1, 1, 2, 7, 8, 12], len(ids))))
        cls = np.array([cls_of[i] for i in s.gt.ids])
        conf = np.where((cls == 1) & (rng.random(len(cls)) > 0.05), 1, 0)
        folder = gt_root / "MOT17-train" / s.name
        (folder / "gt").mkdir(parents=True)
        gt_rows = _rows(s.gt, [f"{c},{k},1.0" for c, k in zip(conf, cls)])
        (folder / "gt" / "gt.txt").write_text("\n".join(gt_rows) + "\n")
        (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={s.name}\nseqLength={s.num_frames}\n")
        data = tr_root / "MOT17-train" / "tk" / "data"
        data.mkdir(parents=True, exist_ok=True)
        pred_rows = _rows(s.pred, [f"{c:.4f},-1,-1,-1" for c in s.pred.scores])
        (data / f"{s.name}.txt").write_text("\n".join(pred_rows) + "\n")
    return gt_root, tr_root


def test_preset_mot17_equals_trackeval_on_its_own_files(tmp_path):
    seqs = random_sequences(3, seed=21, num_frames=120, num_objects=8, num_classes=1)
    for i, s in enumerate(seqs):
        seqs[i] = type(s)(f"MOT17-0{i + 2}-FRCNN", s.gt, s.pred, s.num_frames)
    gt_root, tr_root = _mot17_tree(tmp_path, seqs, np.random.default_rng(0))
    main([f"gt={gt_root / 'MOT17-train'}", f"pred={tr_root / 'MOT17-train' / 'tk' / 'data'}", "preset=mot17",
          f"out={tmp_path / 'out'}", "plot=false", "progress=false"])
    ours = json.loads((tmp_path / "out" / "report.json").read_text())

    cfg = {"GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(tr_root), "BENCHMARK": "MOT17", "SPLIT_TO_EVAL": "train",
           "TRACKERS_TO_EVAL": ["tk"], "PRINT_CONFIG": False}
    ev_cfg = {"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
              "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False, "DISPLAY_LESS_PROGRESS": True}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"PRINT_CONFIG": False})]
    with contextlib.redirect_stdout(io.StringIO()):
        res, _ = trackeval.Evaluator(ev_cfg).evaluate([trackeval.datasets.MotChallenge2DBox(cfg)], metrics)
    ref = res["MotChallenge2DBox"]["tk"]["COMBINED_SEQ"]["pedestrian"]
    compared = 0
    for metric, key in (("hota", "HOTA"), ("clear", "CLEAR"), ("identity", "Identity")):
        for field, value in ref[key].items():
            if field in ours["combined"][metric]:
                np.testing.assert_allclose(ours["combined"][metric][field], value, atol=1e-6, err_msg=field)
                compared += 1
    assert compared >= 40
    # Without the preset, predictions on distractors count as false positives and ignored boxes as misses.
    plain = evaluate_tracking(load_sequences(gt_root / "MOT17-train", tr_root / "MOT17-train" / "tk" / "data"),
                              ("clear",))["combined"]["clear"]
    assert plain["CLR_FP"] + plain["CLR_TP"] > ours["combined"]["clear"]["CLR_FP"] + ours["combined"]["clear"]["CLR_TP"]
