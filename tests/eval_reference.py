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


def motmetrics_summary(seqs: list[Sequence], names: list[str]) -> dict:
    """py-motmetrics 1.4 metrics summed/overall over ``seqs`` (np.asfarray, gone in NumPy 2, is shimmed)."""
    if not hasattr(np, "asfarray"):
        np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)  # noqa: E731
    import motmetrics as mm

    accs = []
    for seq in seqs:
        acc = mm.MOTAccumulator(auto_id=True)
        gb, pb = xywh(seq.gt), xywh(seq.pred)
        for f in range(seq.num_frames):
            gm, pm = seq.gt.frames == f, seq.pred.frames == f
            acc.update(seq.gt.ids[gm], seq.pred.ids[pm], mm.distances.iou_matrix(gb[gm], pb[pm], max_iou=0.5))
        accs.append(acc)
    mh = mm.metrics.create()
    df = mh.compute_many(accs, metrics=names, names=[s.name for s in seqs], generate_overall=True)
    return df.loc["OVERALL"].to_dict()
