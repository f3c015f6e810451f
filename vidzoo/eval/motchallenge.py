"""MOTChallenge's ground-truth preprocessing (MOT17 / MOT20), as the benchmark's official scorer applies it.

Per frame, predictions are matched to all ground-truth boxes (IoU >= 0.5, optimal assignment); those
matched to a distractor (person on vehicle, static person, distractor, reflection; in MOT20 also
non-MOT vehicle) are removed. Then only pedestrian boxes not marked "ignore" (conf 0) stay in the ground
truth. Read the gt with ``read_mot(..., drop_ignored=False)`` so that those boxes are still there.
"""

from __future__ import annotations

import numpy as np

from vidzoo.eval.assign import EPS, max_score_matches
from vidzoo.eval.pairs import prepare
from vidzoo.eval.tracks import Sequence

PEDESTRIAN = 1
DISTRACTORS = {"mot17": (2, 7, 8, 12), "mot20": (2, 6, 7, 8, 12)}
PRESETS = ("none", *DISTRACTORS)


def preprocess(seq: Sequence, preset: str) -> Sequence:
    """``seq`` with distractor-matched predictions and non-pedestrian / ignored ground truth removed.

    The gt's ``scores`` column holds MOTChallenge's conf flag (0 = ignore).
    """
    if preset == "none":
        return seq
    fp = prepare(seq)
    matched = max_score_matches(fp, np.where(fp.sim >= 0.5 - EPS, fp.sim, 0.0))
    distractor = np.isin(seq.gt.classes[fp.gi[matched]], DISTRACTORS[preset])
    keep_pred = np.ones(len(seq.pred), bool)
    keep_pred[fp.pi[matched[distractor]]] = False
    keep_gt = (seq.gt.scores != 0) & (seq.gt.classes == PEDESTRIAN)
    gt = seq.gt.select(keep_gt)
    gt = type(gt)(gt.frames, gt.ids, gt.boxes, np.ones(len(gt)), gt.classes)
    return Sequence(seq.name, gt, seq.pred.select(keep_pred), seq.num_frames)
