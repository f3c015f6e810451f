"""Held-out evaluation of a saved checkpoint: clip/video top-1/top-5, per-class accuracy,
a confusion-matrix PNG and a JSON report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import open_dict

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.evaluation import predict, report_from_predictions
from vidzoo.data.split_checks import check_not_trained_on
from vidzoo.engine.ckpt_files import output_folder
from vidzoo.engine.experiment import datasets_from_config, default_data_root, pick_device, synthetic_kwargs
from vidzoo.errors import ConfigValueError
from vidzoo.files import write_errors
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.label_blocks import primary_block
from vidzoo.engine.model_loading import load_model
from vidzoo.engine.plots import plot_confusion
from vidzoo.engine.stored_config import check_eval_data, stored_config
from vidzoo.engine.trainer import autocast_factory, resolve_precision

def _run_folder(ckpt_dir: Path) -> Path:
    """The run folder of ``ckpt_dir`` (``run/checkpoints/epoch_N``), or the checkpoint folder itself."""
    return ckpt_dir.parent.parent if ckpt_dir.parent.name == "checkpoints" else ckpt_dir


def _data_root(d: Any, data_overrides: list[str] | tuple[str, ...]) -> str | None:
    """Where the evaluation data is: ``data.root`` as given on the command line or a real dataset's stored root
    (only read); for the synthetic dataset the stored root only when it already holds that dataset, else the
    local cache (generating into the sender's folder could replace what is there)."""
    if any(o.startswith("data.root=") for o in data_overrides) or d.source != "synthetic":
        return d.root
    from vidzoo.data.synthetic import is_generated

    params = synthetic_kwargs(d.synthetic)
    if d.root and is_generated(d.root, **params):
        return d.root
    return default_data_root(d.source, params)


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
    from vidzoo.data.dataloader import build_loader
    from vidzoo.validation import check_views

    ckpt_dir = ckpt.resolve_checkpoint(checkpoint, which)
    meta = ckpt.read_meta(ckpt_dir)
    meta_file = ckpt_dir / ckpt.META_FILE
    cfg = stored_config(meta, meta_file)
    try:
        cfg.merge_with_dotlist(list(data_overrides))
    except Exception as exc:
        raise ConfigValueError(f"bad data override in {list(data_overrides)}: {str(exc).splitlines()[0]}") from None
    check_eval_data(cfg, meta_file)
    d = cfg.data
    dev = pick_device(device)
    check_views(d)  # the data.* overrides against the stored crop size and modality
    model, class_names, prep = load_model(ckpt_dir, device=dev)
    model = primary_block(model, prep)  # a multi-task model is scored in its primary dataset's classes
    with open_dict(d):
        d.joint = []  # the training-only datasets of a multi-task run (data.joint) are not read
    bundle = datasets_from_config(d, _data_root(d, data_overrides), seed=cfg.trainer.seed, normalize=True)
    if list(bundle.class_names) != class_names:
        raise ckpt.CheckpointError(
            f"{ckpt_dir} was trained on classes {class_names[:3]}... but data.source={d.source} split {d.split} has "
            f"{list(bundle.class_names)[:3]}...; evaluate on the dataset it was trained on"
        )
    trained_on = meta.get("train_videos")
    check_not_trained_on(trained_on.get("digests") if isinstance(trained_on, dict) else trained_on, bundle.test_keys,
                         str(meta_file), f"data.source={d.source} split {d.split}", bool(d.allow_overlap))
    loader = build_loader(bundle.val, batch_size=d.batch_size, shuffle=False, num_workers=d.num_workers,
                          pin_memory=dev.type == "cuda", persistent_workers=False, prefetch_factor=d.prefetch_factor,
                          drop_last=False, seed=cfg.trainer.seed)
    prec = resolve_precision(precision, dev)
    show = str(progress).lower() not in ("0", "false", "no")
    pred = predict(model, loader, InputPreparer(dev), autocast=autocast_factory(prec, dev), progress=show, desc="test")
    report = report_from_predictions(pred, class_names)
    report.update({"checkpoint": str(ckpt_dir), "split": d.split, "test_clips": d.test_clips,
                   "test_crops": d.test_crops, "model": meta["model"]})
    out = Path(output) if output else _run_folder(ckpt_dir) / f"test-split{d.split}"
    with write_errors(out, "choose another output="):
        output_folder(out, ("test_report.json", "confusion.png"))
        ckpt.write_json_atomic(out / "test_report.json", report)
        plot_confusion(torch.as_tensor(report["confusion_matrix"]).numpy(), class_names, out / "confusion.png",
                       title=f"{meta['model']['name']} split {d.split}: video top-1 {report['video_top1']:.3f}")
    print(f"[vidzoo] test: video_top1 {report['video_top1']:.4f} video_top5 {report['video_top5']:.4f} "
          f"clip_top1 {report['clip_top1']:.4f} ({report['num_videos']} videos, "
          f"{report['failed_videos']['count']} failed) -> {out / 'test_report.json'}")
    return report
