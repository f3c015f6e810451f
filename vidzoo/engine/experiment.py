"""From a config to a trained model: builds data, model, optimizer and trainer from plain values.

This is the only place where config sections meet the code that they configure; the
config may be an OmegaConf node or the :class:`vidzoo.config.Config` dataclass.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from torch.utils.data import Subset

from vidzoo.cache import cache_root
from vidzoo.config import SyntheticConfig, TrainerConfig, to_section
from vidzoo.data.split_checks import KEY_DESCRIPTION, key_digests
from vidzoo.errors import ConfigValueError
from vidzoo.files import check_output_dir
from vidzoo.engine.distributed import DistInfo, cleanup, init_distributed
from vidzoo.engine.label_blocks import num_outputs
from vidzoo.engine.model_weights import init_from_weights, read_weight_kwargs
from vidzoo.engine.pretraining import build_pretrainer
from vidzoo.engine.schedule import LRSchedule
from vidzoo.engine.trainer import Trainer, resolve_precision
from vidzoo.models.registry import get_model_info
from vidzoo.validation import check_model


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str, dist_info: DistInfo | None = None) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigValueError("trainer.device=cuda but no CUDA device is visible; use trainer.device=cpu")
        if dist_info is not None and dist_info.enabled:
            device = torch.device("cuda", dist_info.local_rank)
        torch.cuda.set_device(device)
    return device


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, (tuple, list)) else value


def default_data_root(source: str, synthetic: dict[str, Any] | None = None) -> str | None:
    """Where the embedded synthetic dataset is cached (``$VIDZOO_CACHE`` or ``~/.cache/vidzoo``); ``None`` for
    the real datasets, which have no default root (the builder then asks for ``data.root``).

    One folder per generator setting: ``synthetic_motions`` for the defaults, and e.g.
    ``synthetic_motions-train_per_class120`` for a recipe that asks for more training videos, so that
    such a run never regenerates (and replaces) the dataset that every other run reads.
    """
    if source != "synthetic":
        return None
    defaults = synthetic_kwargs(SyntheticConfig())
    changed = [
        f"{k}{'x'.join(map(str, v)) if isinstance(v, (tuple, list)) else v}"
        for k, v in sorted((synthetic or {}).items())
        if _as_tuple(v) != _as_tuple(defaults.get(k))
    ]
    return str(cache_root() / "-".join(["synthetic_motions", *changed]))


def synthetic_kwargs(node: Any) -> dict[str, Any]:
    """``data.synthetic`` as keyword arguments of ``generate_synthetic_motions`` (size as a tuple)."""
    kw = dict(node) if not hasattr(node, "__dataclass_fields__") else {k: getattr(node, k) for k in node.__dataclass_fields__}
    kw["size"] = tuple(kw["size"])
    return kw


def datasets_from_config(d: Any, root: str | None, *, seed: int, normalize: bool):
    """``build_datasets`` called with the ``data`` config section (a DataBundle)."""
    from vidzoo.data.builder import build_datasets

    return build_datasets(d, root=root, seed=seed, normalize=normalize)


def build_model_from_config(name: str, kwargs: dict[str, Any], num_classes: int) -> torch.nn.Module:
    """Build a registered model; a misspelt or bad keyword is a one-line error listing the accepted ones.
    ``*_weights`` paths are read here and reach the builder as state dicts (models read no files)."""
    check_model(name, kwargs)
    try:
        return get_model_info(name).builder(num_classes=num_classes, **read_weight_kwargs(kwargs))
    except ValueError as exc:  # e.g. weights that do not fit (the dry build in check_model skips weights)
        raise ConfigValueError(f"model.kwargs of {name!r}: {exc}") from None


def auto_batch_size(model: torch.nn.Module, dataset: Any, num_classes: int, device: torch.device, precision: str,
                    channels_last: bool) -> int:
    """``trainer.batch_size=auto``: search the largest batch whose training step fits, and say so."""
    from vidzoo.engine.batch_size import find_batch_size
    from vidzoo.engine.trainer import autocast_factory

    sample = dataset[0]["inputs"]
    if isinstance(sample, dict):
        raise ConfigValueError("trainer.batch_size=auto supports single-modality models; set data.batch_size")
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    n = find_batch_size(model.to(device), tuple(sample.shape), num_classes, device,
                        autocast_factory(precision, device), memory_format=fmt)
    print(f"[vidzoo] trainer.batch_size=auto: the largest batch that fits is ~{n / 0.9:.0f}; training with {n} "
          f"(90% headroom) on {torch.cuda.get_device_name(device)}")
    return n


def build_optimizer(model: torch.nn.Module, cfg: Any, device: torch.device) -> torch.optim.Optimizer:
    """SGD (Nesterov momentum) or AdamW; no weight decay on biases and norm parameters."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = cfg.fused if cfg.fused is not None else device.type == "cuda"
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0,
                               fused=fused or None)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), fused=fused or None)
    raise ConfigValueError(f"unknown optim.name {cfg.name!r}; choose sgd or adamw")


def _plain(cfg: Any) -> dict:
    if OmegaConf.is_config(cfg):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    from dataclasses import asdict

    return asdict(cfg)


def run_training(cfg: Any, run_files: dict[str, str] | None = None) -> dict:
    """Train as the config says and return the final report (``report.json``).

    ``run_files`` (relative path -> text, the command's ``.hydra/`` records) are written into the run folder once
    it is locked: replaced by a run that starts from scratch, kept by a resumed one.
    """
    t = cfg.trainer
    device_type = "cuda" if (t.device.startswith("cuda") or (t.device == "auto" and torch.cuda.is_available())) else "cpu"
    dist_info = init_distributed(device_type)
    try:
        trainer = build_trainer(cfg, dist_info)
        trainer.run_files = dict(run_files or {})
        return trainer.fit()
    finally:
        cleanup(dist_info)


def build_trainer(cfg: Any, dist_info: DistInfo = DistInfo()) -> Trainer:
    """Everything a run needs (data, model, optimizer, schedule), wired into a :class:`Trainer`.

    Nothing is written into ``trainer.output_dir`` here: the trainer creates it when training starts.
    """
    from vidzoo.data.dataloader import build_loader

    d, t = cfg.data, cfg.trainer
    check_output_dir(t.output_dir, "trainer.output_dir")
    device = pick_device(t.device, dist_info)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(t.cudnn_benchmark)
    seed_everything(t.seed)
    get_model_info(cfg.model.name)  # fail fast on an unknown model, before touching data
    root = d.root if d.root not in (None, "", "???") else default_data_root(d.source, synthetic_kwargs(d.synthetic))
    bundle = datasets_from_config(d, root, seed=t.seed, normalize=not d.normalize_on_device)
    num_classes = num_outputs(bundle.preprocessing, len(bundle.class_names))  # every label block of data.joint
    kwargs = dict(cfg.model.kwargs)
    model = build_model_from_config(cfg.model.name, kwargs, num_classes)
    init = str(getattr(cfg.model, "init_weights", "") or "")
    if init:
        line = init_from_weights(model, init)
        if dist_info.is_main:
            print(line)
    precision = resolve_precision(t.precision, device)
    batch_size = d.batch_size
    if t.batch_size == "auto":
        batch_size = auto_batch_size(model, bundle.train, num_classes, device, precision, t.channels_last)
    elif t.batch_size not in (None, ""):
        raise ConfigValueError(f"trainer.batch_size must be 'auto' or unset (got {t.batch_size!r}); set data.batch_size")
    loader_kw = dict(batch_size=batch_size, num_workers=d.num_workers, pin_memory=d.pin_memory and device.type == "cuda",
                     persistent_workers=d.persistent_workers, prefetch_factor=d.prefetch_factor, seed=t.seed,
                     distributed=dist_info.enabled)
    # Drop the last partial batch, unless it is the only one (a training set smaller than one batch).
    per_rank = -(-len(bundle.train) // dist_info.world_size)
    train_loader = build_loader(bundle.train, shuffle=True, drop_last=per_rank >= batch_size, **loader_kw)
    val_set = bundle.val
    if dist_info.enabled:  # each rank scores a disjoint shard; evaluation gathers them by video index
        val_set = Subset(val_set, range(dist_info.rank, len(val_set), dist_info.world_size))
    val_loader = build_loader(val_set, shuffle=False, drop_last=False, **{**loader_kw, "distributed": False})
    optimizer = build_optimizer(model, cfg.optim, device)
    steps_per_epoch = max(1, len(train_loader) if not t.max_steps_per_epoch else min(len(train_loader), t.max_steps_per_epoch))
    steps_per_epoch = -(-steps_per_epoch // max(t.grad_accum, 1))
    s = cfg.sched
    schedule = LRSchedule(
        base_lr=cfg.optim.lr, total_steps=steps_per_epoch * t.epochs, steps_per_epoch=steps_per_epoch, name=s.name,
        warmup_steps=int(round(s.warmup_epochs * steps_per_epoch)), min_lr=s.min_lr,
        step_epochs=tuple(s.step_epochs), gamma=s.gamma,
    )
    config = _plain(cfg)
    config["data"]["batch_size"] = batch_size
    config["data"]["root"] = root
    meta = {
        "model": {"name": cfg.model.name, "kwargs": kwargs, "num_classes": num_classes},
        "class_names": list(bundle.class_names),
        "flip_pairs": [list(p) for p in (bundle.flip_pairs or [])],
        "preprocessing": dict(bundle.preprocessing),
        "config": config,
        "train_videos": {"hash": KEY_DESCRIPTION, "digests": key_digests(bundle.train_keys)},
    }
    trainer = Trainer(model, optimizer, schedule, train_loader, val_loader, to_section(t, TrainerConfig), meta,
                      list(bundle.class_names), dist_info, device=device, mean=tuple(bundle.mean), std=tuple(bundle.std))
    trainer.skipped_videos = list(bundle.skipped)
    trainer.pretrainer = build_pretrainer(trainer.raw_model, train_loader, trainer.prepare, t, meta, dist_info)
    return trainer
