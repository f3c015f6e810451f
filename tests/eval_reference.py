"""Adapters that feed the same sequences to the reference tools (TrackEval, py-motmetrics, pycocotools)."""

from __future__ import annotations

import numpy as np

from vidzoo.eval.tracks import Sequence, Tracks


def xywh(tracks: Tracks) -> np.ndarray:
    b = tracks.boxes
    return np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]])


def trackeval_data(seq: Sequence) -> dict:
    """The dict TrackEval's metrics read for one sequence (dense ids, per-frame IoU with its own box IoU)."""
    from trackeval.datasets._base_dataset import _BaseDataset

    gt, pr = seq.gt, seq.pred
    g_u, g_id = np.unique(gt.ids, return_inverse=True)
    p_u, p_id = np.unique(pr.ids, return_inverse=True)
    gb, pb = xywh(gt), xywh(pr)
    data = {"num_timesteps": seq.num_frames, "num_gt_ids": len(g_u), "num_tracker_ids": len(p_u),
            "num_gt_dets": len(gt), "num_tracker_dets": len(pr), "gt_ids": [], "tracker_ids": [],
            "similarity_scores": []}
    for f in range(seq.num_frames):
        gm, pm = gt.frames == f, pr.frames == f
        data["gt_ids"].append(g_id.reshape(-1)[gm])
        data["tracker_ids"].append(p_id.reshape(-1)[pm])
        data["similarity_scores"].append(_BaseDataset._calculate_box_ious(gb[gm], pb[pm], box_format="xywh"))
    return data
