"""The shared trainer: one loop for every family (loss, step, AMP, DDP, checkpoints, logging).

It knows nothing of any model family or dataset: it receives a model, loaders and
the ``trainer`` config section (:class:`vidzoo.config.TrainerConfig`), and writes everything a run produces into
``output_dir``. A model that scores a clip with more than one tower (e.g. conv fusion's temporal tower) leaves the
extra logits of a training forward in its ``auxiliary_logits`` list; each adds its own cross-entropy term::

    checkpoints/epoch_XXXX/, checkpoints/{last,best}.json
    metrics.jsonl, report.json, curves.png, confusion.png, tb/ (TensorBoard)
    .hydra/{config,overrides}.yaml (the command, when given), .vidzoo.lock (held while the run lasts)
"""

from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from tqdm import tqdm

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.ckpt_files import refuse_symlinks
from vidzoo.engine.ckpt_meta import TRAIN_STATE_FIELDS, check_model_spec
from vidzoo.engine.distributed import DistInfo, all_reduce_mean
from vidzoo.engine.evaluation import nothing_loaded, predict, report_from_predictions
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.label_blocks import primary_block, training_loss
from vidzoo.engine.mixing import BatchMixer
from vidzoo.engine.plots import plot_confusion, plot_curves
from vidzoo.engine.run_folder import OUTPUT_FIX, check_fresh, open_run_folder, write_records
from vidzoo.engine.schedule import LRSchedule
from vidzoo.errors import EmptyResultsError
from vidzoo.config import TrainerConfig
from vidzoo.files import atomic_write_json, atomic_write_text, write_errors


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on CUDA (when supported), fp32 elsewhere."""
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"unknown trainer.precision {precision!r}; choose auto, fp32, bf16 or fp16")
    if precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("trainer.precision=fp16 needs a CUDA device; use bf16 on CPU")
    return precision


def autocast_factory(precision: str, device: torch.device) -> Callable[[], Any]:
    """A zero-argument context factory for the chosen mixed precision."""
    if precision == "fp32":
        return nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best_metric: float = -math.inf
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Trainer:
    """Trains ``model`` on ``train_loader``, validates on ``val_loader`` and checkpoints each epoch.

    ``config`` is the ``trainer`` section itself (its ``device`` and ``precision`` as resolved for this process are
    ``device`` and :func:`resolve_precision`'s answer); ``mean``/``std`` normalise the inputs on the device.
    ``meta`` is stored in every checkpoint (model name/kwargs, class names, preprocessing,
    config) so :func:`vidzoo.load_model` can rebuild the model without the training code.
    ``run_files`` (relative path -> text) are written into a new run folder (the command's Hydra overrides);
    ``skipped_videos`` (missing from disk, skipped with ``data.skip_missing``) are counted in the report.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: LRSchedule,
        train_loader,
        val_loader,
        config: TrainerConfig,
        meta: dict[str, Any],
        class_names: list[str],
        dist_info: DistInfo = DistInfo(),
        *,
        device: torch.device,
        mean: tuple[float, ...] = (0.0, 0.0, 0.0),
        std: tuple[float, ...] = (1.0, 1.0, 1.0),
    ) -> None:
        self.s = settings = config
        self.device = device
        self.model = model.to(self.device)
        if settings.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last_3d)
        self.raw_model = self.model
        if dist_info.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.forward_model: nn.Module = self.model
        if settings.compile:
            self.forward_model = torch.compile(self.model)
        self.optimizer = optimizer
        self.schedule = schedule
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.meta = meta
        self.class_names = class_names
        self.dist = dist_info
        self.precision = resolve_precision(settings.precision, device)
        self.autocast = autocast_factory(self.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.prepare = InputPreparer(self.device, tuple(mean), tuple(std), settings.channels_last)
        self.mixer = BatchMixer.from_config(settings, dist_info.rank)  # mixup / cutmix, off by default
        # smoothing in the loss, or inside the mixer's soft targets; one softmax per label block (data.joint)
        self.loss_fn = training_loss(self.mixer.loss_smoothing, meta.get("preprocessing"))
        self.out = Path(settings.output_dir)
        self.ckpt_dir = self.out / "checkpoints"
        self.state = TrainState()
        self._tb = None
        self.run_files: dict[str, str] = {}
        self.skipped_videos: list[str] = []
        self.pretrainer = None  # a vidzoo.engine.pretraining.Pretrainer: runs before the first supervised epoch

    # ------------------------------------------------------------------ set-up
    def _maybe_resume(self) -> None:
        has_ckpt = (self.ckpt_dir / "last.json").is_file()
        if not self.s.resume:
            if has_ckpt:
                raise ckpt.CheckpointError(
                    f"{self.out} already holds a run; pass trainer.resume=true to continue it "
                    "or choose another trainer.output_dir"
                )
            check_fresh(self.out)
            return
        refuse_symlinks(self.out)  # a run folder to continue may come from elsewhere
        if not has_ckpt:
            check_fresh(self.out)
            if self.dist.is_main:
                print(f"[vidzoo] trainer.resume=true but {self.ckpt_dir} has no checkpoint yet: starting from scratch")
            return
        last = ckpt.resolve_checkpoint(self.ckpt_dir, "last")
        saved_meta = ckpt.read_meta(last)
        check_model_spec(saved_meta, last / ckpt.META_FILE)
        saved = saved_meta["model"]
        mine = self.meta["model"]
        if (saved["name"], saved["kwargs"], saved["num_classes"]) != (mine["name"], mine["kwargs"], mine["num_classes"]):
            raise ckpt.CheckpointError(
                f"{last} was trained as model {saved['name']!r} {saved['kwargs']} with {saved['num_classes']} classes, "
                f"but this run builds {mine['name']!r} {mine['kwargs']} with {mine['num_classes']}; "
                f"use model.name={saved['name']} or another trainer.output_dir"
            )
        ckpt.load_state_into(self.raw_model, ckpt.load_weights(last, self.device), str(last), mine["name"])
        opt_state, info = ckpt.load_train_state(last, required=tuple(TRAIN_STATE_FIELDS))
        if opt_state is not None:
            self.optimizer.load_state_dict(opt_state)
        if info.get("scaler"):
            self.scaler.load_state_dict(info["scaler"])
        self.state = TrainState(
            epoch=info["epoch"], step=info["step"], best_metric=info["best_metric"], best_epoch=info["best_epoch"],
            history=info["history"], failed=info["failed"],
        )
        if self.dist.is_main:
            # Epochs after the checkpoint are re-run: keep only the log lines the checkpoint vouches for.
            atomic_write_text(self.out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in self.state.history))
            print(f"[vidzoo] resumed from {last} (epoch {self.state.epoch}, step {self.state.step})")

    @property
    def tb(self):
        if self._tb is None and self.s.tensorboard and self.dist.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out / "tb"))
        return self._tb

    # ------------------------------------------------------------------ steps
    def _set_lr(self) -> float:
        lr = self.schedule(self.state.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _forward(self, inputs) -> torch.Tensor:
        try:
            return self.forward_model(inputs)
        except Exception as exc:  # torch.compile can fail on exotic ops: fall back to eager once
            if self.forward_model is self.model:
                raise
            warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); continuing in eager mode")
            self.forward_model = self.model
            return self.model(inputs)

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the training loader; returns mean loss, clip top-1 and throughput."""
        self.model.train()
        for obj in (self.train_loader.dataset, getattr(self.train_loader, "sampler", None),
                    getattr(self.train_loader, "batch_sampler", None)):
            if hasattr(obj, "set_epoch"):
                obj.set_epoch(epoch)
        steps = len(self.train_loader)
        if self.s.max_steps_per_epoch:
            steps = min(steps, self.s.max_steps_per_epoch)
        total_clips = steps * (self.train_loader.batch_size or 1)
        bar = tqdm(total=total_clips, desc=f"epoch {epoch + 1}/{self.s.epochs}", unit="clip",
                   disable=not (self.s.progress and self.dist.is_main), dynamic_ncols=True)
        loss_sum, correct, seen, failed = 0.0, 0, 0, []
        t0 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        accum = max(self.s.grad_accum, 1)
        lr = self._set_lr()
        for i, batch in enumerate(self.train_loader):
            if i >= steps:
                break
            failed.extend(batch.get("failed", []))
            if batch.get("inputs") is None:
                continue
            inputs = self.prepare(batch["inputs"])
            labels = torch.as_tensor(batch["label"]).to(self.device, non_blocking=True)
            inputs, targets = self.mixer(inputs, labels, len(self.class_names), epoch, i)  # top-1 stays on labels
            with self.autocast():
                logits = self._forward(inputs)
                loss = self.loss_fn(logits.float(), targets)
                for aux in getattr(self.raw_model, "auxiliary_logits", ()):  # a second tower's own loss
                    loss = loss + self.loss_fn(aux.float(), targets)
            self.scaler.scale(loss / accum).backward()
            if (i + 1) % accum == 0 or i + 1 == steps:
                if self.s.grad_clip > 0:
                    self.scaler.unscale_(self.optimizer)
                    nn.utils.clip_grad_norm_(self.model.parameters(), self.s.grad_clip)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.optimizer.zero_grad(set_to_none=True)
                self.state.step += 1
                lr = self._set_lr()
            n = len(labels)
            loss_sum += float(loss.detach()) * n
            correct += int((logits.detach().argmax(1) == labels).sum())
            seen += n
            bar.update(len(labels))
            bar.set_postfix(loss=f"{loss_sum / max(seen, 1):.3f}", acc=f"{correct / max(seen, 1):.3f}", lr=f"{lr:.2e}")
        bar.close()
        elapsed = time.perf_counter() - t0
        if all_reduce_mean(float(seen), self.dist) == 0:
            raise EmptyResultsError(f"epoch {epoch + 1}: {nothing_loaded('training', failed)}")
        return {
            "train_loss": all_reduce_mean(loss_sum / max(seen, 1), self.dist),
            "train_top1": all_reduce_mean(correct / max(seen, 1), self.dist),
            "train_clips_per_s": all_reduce_mean(seen / max(elapsed, 1e-9), self.dist) * self.dist.world_size,
            "lr": lr,
            "failed": failed,
        }

    def evaluate(self) -> dict:
        model = primary_block(self.raw_model, self.meta.get("preprocessing"))  # the primary dataset's classes
        pred = predict(model, self.val_loader, self.prepare, autocast=self.autocast,
                       dist_info=self.dist, progress=self.s.progress)
        return report_from_predictions(pred, self.class_names)

    # ------------------------------------------------------------------ checkpoints
    def _save(self, epoch_metrics: dict, is_best: bool) -> None:
        if not self.dist.is_main:
            return
        meta = {**self.meta, "epoch": self.state.epoch, "metrics": epoch_metrics}
        train_state = {
            "epoch": self.state.epoch, "step": self.state.step, "best_metric": self.state.best_metric,
            "best_epoch": self.state.best_epoch, "history": self.state.history, "failed": self.state.failed,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
        }
        target = self.ckpt_dir / f"epoch_{self.state.epoch:04d}"
        with write_errors(target, OUTPUT_FIX):
            ckpt.save_checkpoint(target, self.raw_model.state_dict(), meta, self.optimizer.state_dict(), train_state)
            ckpt.update_pointer(self.ckpt_dir, "last", target)
            if is_best:
                ckpt.update_pointer(self.ckpt_dir, "best", target)
            self._prune()

    def _prune(self) -> None:
        best = json.loads((self.ckpt_dir / "best.json").read_text())["path"] if (self.ckpt_dir / "best.json").is_file() else None
        epochs = sorted(p for p in self.ckpt_dir.glob("epoch_*") if p.is_dir())
        for old in epochs[: -max(self.s.keep_checkpoints, 1)]:
            if old.name != best:
                shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ main loop
    def fit(self) -> dict:
        """Train to ``epochs`` (resuming if asked) and return the final report (also written to report.json).

        The run folder is created here and locked until the run ends (see :mod:`vidzoo.engine.run_folder`).
        """
        with open_run_folder(self.out, main=self.dist.is_main):
            return self._fit()

    def _fit(self) -> dict:
        self._maybe_resume()
        if self.dist.is_main:
            write_records(self.out, self.run_files, fresh=not self.state.history)
        if self.pretrainer is not None and not self.state.history:
            self.pretrainer.run()
        t_start = time.perf_counter()
        last_val: dict | None = self.state.history[-1].get("val") if self.state.history else None
        while self.state.epoch < self.s.epochs:
            epoch = self.state.epoch
            stats = self.train_epoch(epoch)
            self.state.failed = sorted(set(self.state.failed) | set(stats.pop("failed")))
            record = {"epoch": epoch + 1, "step": self.state.step, **stats}
            is_last = epoch + 1 == self.s.epochs
            if (epoch + 1) % max(self.s.eval_every, 1) == 0 or is_last:
                val = self.evaluate()
                self.state.failed = sorted(set(self.state.failed) | set(val["failed_videos"]["paths"]))
                record["val"] = {k: val[k] for k in ("video_top1", "video_top5", "clip_top1", "clip_top5", "mean_class_accuracy")}
                last_val = val
            self.state.epoch = epoch + 1
            is_best = "val" in record and record["val"]["video_top1"] > self.state.best_metric
            if is_best:
                self.state.best_metric, self.state.best_epoch = record["val"]["video_top1"], epoch + 1
            self.state.history.append(record)
            self._save(record.get("val", {}), is_best)
            self._log(record)
        # Resumed after the last epoch: the history holds only a summary of the last evaluation.
        if last_val is None or "confusion_matrix" not in last_val:
            if self.dist.is_main:
                print(f"[vidzoo] {self.out} already finished epoch {self.state.epoch} of {self.s.epochs}: "
                      "evaluating its last checkpoint again", flush=True)
            last_val = self.evaluate()
        report = self._final_report(last_val, time.perf_counter() - t_start)
        if self._tb is not None:
            self._tb.close()
        return report

    def _log(self, record: dict) -> None:
        if not self.dist.is_main:
            return
        with write_errors(self.out / "metrics.jsonl", OUTPUT_FIX), open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k in ("train_loss", "train_top1", "train_clips_per_s", "lr"):
                self.tb.add_scalar(f"train/{k}", record[k], record["epoch"])
            for k, v in record.get("val", {}).items():
                self.tb.add_scalar(f"val/{k}", v, record["epoch"])
        with write_errors(self.out / "curves.png", OUTPUT_FIX):
            plot_curves(self.state.history, self.out / "curves.png")
        msg = f"[vidzoo] epoch {record['epoch']}/{self.s.epochs}: loss {record['train_loss']:.3f} train_top1 {record['train_top1']:.3f}"
        if "val" in record:
            msg += f" | val video_top1 {record['val']['video_top1']:.3f} clip_top1 {record['val']['clip_top1']:.3f}"
        print(msg + f" | {record['train_clips_per_s']:.1f} clips/s", flush=True)

    def _final_report(self, val: dict, seconds: float) -> dict:
        report: dict[str, Any] = {
            "model": self.meta["model"],
            "epochs": self.state.epoch,
            "steps": self.state.step,
            "num_train_videos": len(self.train_loader.dataset),
            "best_epoch": self.state.best_epoch,
            "best_video_top1": self.state.best_metric if self.state.best_epoch > 0 else None,
            "train_seconds_this_process": seconds,
            "failed_videos": {"count": len(self.state.failed), "paths": self.state.failed},
            "skipped_videos": {"count": len(self.skipped_videos), "paths": self.skipped_videos},
            "precision": self.precision,
        }
        report.update({k: v for k, v in val.items() if k != "failed_videos"})
        if self.dist.is_main:
            atomic_write_json(self.out / "report.json", report)
            with write_errors(self.out / "confusion.png", OUTPUT_FIX):
                plot_confusion(torch.as_tensor(val["confusion_matrix"]).numpy(), self.class_names,
                               self.out / "confusion.png", title=f"video top-1 {val['video_top1']:.3f}")
        return report
