"""Adapters that feed the same sequences to the reference tools (TrackEval, py-motmetrics, pycocotools)."""

from __future__ import annotations

import numpy as np

from vidzoo.eval.tracks import Sequence, Tracks


def xywh(tracks: Tracks) -> np.ndarray:
    b = tracks.boxes
    return np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]])


def trackeval_data(seq: Sequence) -> dict:
    """The dict TrackEval's metrics read for one sequence (dense ids, per-frame IoU with its own box IoU)."""
    from vidzoo.benchmarks.metrics import trackeval_inputs

    return trackeval_inputs(seq)


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


def pycocotools_stats(seqs: list[Sequence]) -> np.ndarray:
    """COCOeval bbox ``stats`` (AP@[.5:.95], AP@.5, AP@.75, ...) with one image per (sequence, frame)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets, offset = [], [], [], 0
    for s in seqs:
        images += [{"id": offset + f + 1} for f in range(s.num_frames)]
        for b, f, c in zip(xywh(s.gt), s.gt.frames, s.gt.classes):
            anns.append({"id": len(anns) + 1, "image_id": offset + int(f) + 1, "category_id": int(c) + 1,
                         "bbox": b.tolist(), "area": float(b[2] * b[3]), "iscrowd": 0})
        for b, f, c, sc in zip(xywh(s.pred), s.pred.frames, s.pred.classes, s.pred.scores):
            dets.append({"image_id": offset + int(f) + 1, "category_id": int(c) + 1, "bbox": b.tolist(),
                         "score": float(sc)})
        offset += s.num_frames
    classes = sorted({a["category_id"] for a in anns} | {d["category_id"] for d in dets})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": c} for c in classes]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def trackeval_track_map(seqs: list[Sequence], cls: int) -> dict:
    """TrackEval's TrackMAP ('all' tracks only) for one class, tracks sorted by mean score as TAO's loader does."""
    from trackeval.metrics import TrackMAP

    metric = TrackMAP({"USE_AREA_RANGES": False, "USE_TIME_RANGES": False, "PRINT_CONFIG": False})
    res = {}
    for s in seqs:
        s = s.for_class(cls)
        tracks = {}
        for side, t in (("gt", s.gt), ("dt", s.pred)):
            ids = np.unique(t.ids)
            boxes = xywh(t)
            tr = [{int(f): boxes[i] for i, f in zip(np.flatnonzero(t.ids == k), t.frames[t.ids == k])} for k in ids]
            score = np.array([t.scores[t.ids == k].mean() for k in ids])
            order = np.argsort(-score, kind="mergesort") if side == "dt" else np.arange(len(ids))
            tracks[side] = ([tr[i] for i in order], (ids[order] + 1).tolist(), score[order])  # ids >= 1
        data = {"gt_track_ids": tracks["gt"][1], "dt_track_ids": tracks["dt"][1], "gt_tracks": tracks["gt"][0],
                "dt_tracks": tracks["dt"][0], "dt_track_scores": tracks["dt"][2], "iou_type": "bbox",
                "boxformat": "xywh"}
        res[s.name] = metric.eval_sequence(data)
    return metric.combine_sequences(res)
