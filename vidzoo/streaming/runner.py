"""One stream run: base phase, frozen features, every learner over the same stream, report and plot.

Output (``output_dir``): ``base/`` (the base phase's training run, when no ``backbone_checkpoint`` is given),
``stream_report.json`` and ``stream_accuracy.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.experiment import datasets_from_config, default_data_root, pick_device, seed_everything, synthetic_kwargs
from vidzoo.engine.model_loading import load_model
from vidzoo.errors import ConfigValueError
from vidzoo.streaming.base import train_base
from vidzoo.streaming.checks import check_names
from vidzoo.streaming.factory import build_learners, class_rows
from vidzoo.streaming.features import FeatureSet, FrozenBackbone, check_input_size, clip_dataset, extract_features
from vidzoo.streaming.learner import StreamLearner
from vidzoo.streaming.metrics import forgetting, omega, seen_accuracy, video_predictions
from vidzoo.streaming.plots import plot_stream_accuracy
from vidzoo.streaming.protocol import Stream, make_stream, split_base_classes


def evaluate(learner: StreamLearner, test: FeatureSet, seen: set[int]) -> tuple[float, dict[int, float]]:
    """Video top-1 of ``learner`` on the test videos of the ``seen`` classes (scores averaged over views)."""
    x, _ = test.flat(learner.input_kind)
    return seen_accuracy(video_predictions(learner.scores(x), test.views), test.labels, seen)


def run_learner(learner: StreamLearner, base: FeatureSet, train: FeatureSet, stream: Stream, test: FeatureSet,
                progress: bool = True) -> dict[str, Any]:
    """Fit ``learner``'s base phase, stream every example once, evaluate after the base and each increment."""
    learner.fit_base(*base.flat(learner.input_kind))
    feats = train.pooled if learner.input_kind == "pooled" else train.maps
    seen = set(base.labels.tolist())
    acc, per_class = evaluate(learner, test, seen)
    curve = {"examples_seen": [0], "accuracy": [acc], "per_class": [per_class]}
    spent, pos = 0.0, 0
    bar = tqdm(total=len(stream), desc=learner.name, unit="ex", disable=not progress)
    for end in stream.increment_ends:
        for (video, clip), y in zip(stream.order[pos:end].tolist(), stream.labels[pos:end].tolist()):
            start = time.perf_counter()
            learner.update(feats[video, clip], y)
            spent += time.perf_counter() - start
            seen.add(y)
            bar.update(1)
        pos = end
        acc, per_class = evaluate(learner, test, seen)
        curve["examples_seen"].append(end)
        curve["accuracy"].append(acc)
        curve["per_class"].append(per_class)
    bar.close()
    curve["updates_per_s"] = len(stream) / spent if spent > 0 else float("inf")
    curve["memory_bytes"] = learner.memory_bytes()
    return curve


def _summarise(curves: dict[str, dict], class_names: list[str]) -> dict[str, dict]:
    offline = curves.get("offline", {}).get("accuracy")
    out = {}
    for name, c in curves.items():
        forget = forgetting(c["per_class"])
        out[name] = {
            "final_accuracy": c["accuracy"][-1],
            "omega": omega(c["accuracy"][1:], offline[1:]) if offline else None,
            "examples_seen": c["examples_seen"],
            "accuracy": c["accuracy"],
            "forgetting": {class_names[k]: v for k, v in forget.items()},
            "mean_forgetting": sum(forget.values()) / max(len(forget), 1),
            "memory_bytes": c["memory_bytes"],
            "updates_per_s": c["updates_per_s"],
        }
    return out


def _backbone(cfg: Any, class_names: list[str], out: Path) -> tuple[Path, list[int]]:
    """The backbone checkpoint and the base classes: the dataset classes the checkpoint knows (else the first
    ``base_classes``), or, with no checkpoint given, the first ``base_classes`` after training on them here."""
    if cfg.backbone_checkpoint:
        meta = ckpt.read_meta(ckpt.resolve_checkpoint(cfg.backbone_checkpoint, "best"))
        known = [k for k, c in enumerate(class_names) if c in meta.get("class_names", [])]
        return Path(cfg.backbone_checkpoint), known or split_base_classes(class_names, int(cfg.base_classes))
    base = split_base_classes(class_names, int(cfg.base_classes))
    return train_base(cfg, [class_names[k] for k in base], out), base


def run_stream(cfg: Any) -> dict[str, Any]:
    """Run the stream experiment ``cfg`` (a ``StreamRunConfig`` node) and return the report."""
    out = Path(cfg.output_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigValueError(f"output_dir={out} already exists and is not empty; choose another output_dir")
    check_names(cfg.streaming)
    seed_everything(int(cfg.seed))
    d = cfg.data
    root = d.root or default_data_root(d.source, synthetic_kwargs(d.synthetic))
    OmegaConf.update(cfg, "data.root", root or "", force_add=False)
    bundle = datasets_from_config(d, root, seed=int(cfg.seed), normalize=True)
    names = list(bundle.class_names)
    ckpt_path, base = _backbone(cfg, names, out)
    model, ckpt_classes, prep = load_model(ckpt_path, device=pick_device(cfg.device))
    model_name = ckpt.read_meta(ckpt.resolve_checkpoint(ckpt_path, "best"))["model"]["name"]
    check_input_size(str(ckpt_path), prep, d)
    remind_layer = cfg.streaming.remind.layer if "remind" in cfg.streaming.learners else ""
    device = next(model.parameters()).device
    example = torch.zeros(1, 3, int(d.num_frames), int(d.crop_size), int(d.crop_size), device=device)
    backbone = FrozenBackbone(model, len(ckpt_classes), example, remind_layer)
    learners = build_learners(cfg.streaming, model, backbone.classifier.name, class_rows(names, ckpt_classes), names,
                              int(cfg.seed))
    views = int(cfg.clips_per_video)
    kw = {"batch_size": 8, "num_workers": int(d.num_workers), "progress": bool(cfg.progress)}
    train = extract_features(backbone, clip_dataset(bundle.train.records, d, views, bundle.mean, bundle.std), views,
                             desc="train features", **kw)
    test = extract_features(backbone, clip_dataset(bundle.val.records, d, int(d.test_clips), bundle.mean, bundle.std),
                            int(d.test_clips), desc="test features", **kw)
    is_base = torch.tensor([int(y) in base for y in train.labels.tolist()])
    base_set = train.subset(torch.nonzero(is_base).flatten())
    stream_set = train.subset(torch.nonzero(~is_base).flatten())
    stream = make_stream(stream_set.labels.tolist(), cfg.ordering, clips_per_video=views, seed=int(cfg.seed),
                         classes_per_increment=int(cfg.classes_per_increment),
                         num_increments=int(cfg.num_increments) or None)
    curves = {n: run_learner(lr, base_set, stream_set, stream, test, bool(cfg.progress)) for n, lr in learners.items()}
    report = {
        "ordering": cfg.ordering, "backbone_checkpoint": str(ckpt_path), "model": model_name,
        "base_classes": [names[k] for k in base], "stream_classes": sorted({names[y] for y in stream.labels.tolist()}),
        "stream_examples": len(stream), "clips_per_video": views, "test_videos": int(len(test.labels)),
        "failed_videos": train.failed + test.failed, "learners": _summarise(curves, names),
    }
    out.mkdir(parents=True, exist_ok=True)
    ckpt.write_json_atomic(out / "stream_report.json", report)
    plot_stream_accuracy({n: (c["examples_seen"], c["accuracy"]) for n, c in curves.items()},
                         out / "stream_accuracy.png", title=f"{model_name}, {cfg.ordering} stream")
    return report
