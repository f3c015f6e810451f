"""Held-out evaluation of a saved checkpoint: clip/video top-1/top-5, per-class accuracy,
a confusion-matrix PNG and a JSON report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.evaluation import predict, report_from_predictions
from vidzoo.engine.experiment import datasets_from_config, pick_device
from vidzoo.errors import ConfigValueError
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.loading import load_model
from vidzoo.engine.plots import plot_confusion
from vidzoo.engine.trainer import autocast_factory, resolve_precision

def evaluate_checkpoint(
    checkpoint: str,
    data_overrides: list[str] | tuple[str, ...] = (),
    which: str = "best",
    output: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    progress: Any = True,
) -> dict:
    """Evaluate ``checkpoint`` on the test split its training config names (overridable by ``data.*``)."""
    from vidzoo.data.loader import build_loader
    from vidzoo.validation import check_views

    ckpt_dir = ckpt.resolve_checkpoint(checkpoint, which)
    meta = ckpt.read_meta(ckpt_dir)
    if "config" not in meta:
        raise ckpt.CheckpointError(f"{ckpt_dir} has no training config in meta.json; evaluate it with your own loader")
    cfg = OmegaConf.create(meta["config"])
    OmegaConf.set_struct(cfg, True)
    try:
        cfg.merge_with_dotlist(list(data_overrides))
    except Exception as exc:
        raise ConfigValueError(f"bad data override in {list(data_overrides)}: {str(exc).splitlines()[0]}") from None
    d = cfg.data
    dev = pick_device(device)
    check_views(d)  # the data.* overrides against the stored crop size and modality
    model, class_names, prep = load_model(ckpt_dir, device=dev)
    bundle = datasets_from_config(d, d.root, seed=cfg.trainer.seed, normalize=True)
    if list(bundle.class_names) != class_names:
        raise ckpt.CheckpointError(
            f"{ckpt_dir} was trained on classes {class_names[:3]}... but data.source={d.source} split {d.split} has "
            f"{list(bundle.class_names)[:3]}...; evaluate on the dataset it was trained on"
        )
    loader = build_loader(bundle.val, batch_size=d.batch_size, shuffle=False, num_workers=d.num_workers,
                          pin_memory=dev.type == "cuda", persistent_workers=False, prefetch_factor=d.prefetch_factor,
                          drop_last=False, seed=cfg.trainer.seed)
    prec = resolve_precision(precision, dev)
    show = str(progress).lower() not in ("0", "false", "no")
    pred = predict(model, loader, InputPreparer(dev), autocast=autocast_factory(prec, dev), progress=show, desc="test")
    report = report_from_predictions(pred, class_names)
    report.update({"checkpoint": str(ckpt_dir), "split": d.split, "test_clips": d.test_clips,
                   "test_crops": d.test_crops, "model": meta["model"]})
    out = Path(output) if output else ckpt_dir.parent.parent / f"test-split{d.split}"
    out.mkdir(parents=True, exist_ok=True)
    ckpt.write_json_atomic(out / "test_report.json", report)
    plot_confusion(torch.as_tensor(report["confusion_matrix"]).numpy(), class_names, out / "confusion.png",
                   title=f"{meta['model']['name']} split {d.split}: video top-1 {report['video_top1']:.3f}")
    print(f"[vidzoo] test: video_top1 {report['video_top1']:.4f} video_top5 {report['video_top5']:.4f} "
          f"clip_top1 {report['clip_top1']:.4f} ({report['num_videos']} videos, "
          f"{report['failed_videos']['count']} failed) -> {out / 'test_report.json'}")
    return report
