"""The unsupervised pre-training phase of the shared trainer (``trainer.pretrain_epochs`` > 0).

A model that implements :class:`vidzoo.models._pretrain.Pretrainable` (e.g. the convolutional gated RBM and
stacked ISA families) is first trained on its own objective over the training clips (labels unused), with its
own optimiser (Adam, ``trainer.pretrain_lr``) on the parameters its ``pretrain_parameters()`` returns; its
``after_pretrain_step()`` runs after every step. Its checkpoints go to ``<output_dir>/pretrain/``
(``epoch_XXXX/`` + ``last.json``, the same format as supervised checkpoints), so a killed run resumed with
``trainer.resume=true`` continues pre-training from its last epoch. Afterwards the pre-trained parameters are
frozen again and supervised training trains the rest. A resumed run that already has a supervised checkpoint
skips this phase (its weights hold the pre-trained features).

The engine knows no family here: everything model-specific sits behind the three protocol methods.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.distributed import DistInfo
from vidzoo.engine.inputs import InputPreparer
from vidzoo.engine.run_folder import OUTPUT_FIX
from vidzoo.errors import ConfigValueError
from vidzoo.files import write_errors
from vidzoo.models._pretrain import Pretrainable, freeze

PRETRAIN_DIR = "pretrain"


@dataclass
class PretrainSettings:
    """The pre-training knobs of ``TrainerConfig`` (``pretrain_epochs``, ``pretrain_lr``) and the run's own."""

    epochs: int
    lr: float
    output_dir: Path
    resume: bool = False
    progress: bool = True
    max_steps_per_epoch: int = 0
    keep_checkpoints: int = 1


class Pretrainer:
    """Runs ``settings.epochs`` epochs of the model's ``pretrain_loss`` over ``loader`` (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, loader, prepare: InputPreparer, settings: PretrainSettings,
                 meta: dict[str, Any], dist_info: DistInfo = DistInfo()) -> None:
        self.model, self.loader, self.prepare, self.s = model, loader, prepare, settings
        self.meta, self.dist = meta, dist_info
        self.folder = Path(settings.output_dir) / PRETRAIN_DIR
        self.params = list(model.pretrain_parameters())  # type: ignore[attr-defined]
        self.optimizer = torch.optim.Adam(self.params, lr=settings.lr)
        self.history: list[dict[str, Any]] = []

    def _resume(self) -> int:
        """Epochs already done (0 for a fresh run); loads the last pre-training checkpoint when resuming."""
        if not (self.folder / "last.json").is_file():
            return 0
        if not self.s.resume:
            raise ckpt.CheckpointError(f"{self.folder} already holds pre-training checkpoints; pass "
                                       "trainer.resume=true to continue that run or choose another trainer.output_dir")
        last = ckpt.resolve_checkpoint(self.folder, "last")
        device = next(self.model.parameters()).device
        ckpt.load_state_into(self.model, ckpt.load_weights(last, device), str(last), self.meta["model"]["name"])
        opt_state, info = ckpt.load_train_state(last)
        if opt_state is not None:
            self.optimizer.load_state_dict(opt_state)
        self.history = list(info.get("history", []))
        if self.dist.is_main:
            print(f"[vidzoo] resumed pre-training from {last} (epoch {info['epoch']})", flush=True)
        return int(info["epoch"])

    def _step(self, clips: torch.Tensor, progress: float) -> tuple[float, dict[str, float]]:
        loss, stats = self.model.pretrain_loss(clips, progress)  # type: ignore[attr-defined]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.dist.enabled:  # the raw model is trained: average its gradients over the ranks by hand
            for p in self.params:
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= self.dist.world_size
        self.optimizer.step()
        self.model.after_pretrain_step()  # type: ignore[attr-defined]
        return float(loss.detach()), stats

    def _epoch(self, epoch: int) -> dict[str, Any]:
        steps = len(self.loader)
        if self.s.max_steps_per_epoch:
            steps = min(steps, self.s.max_steps_per_epoch)
        if hasattr(self.loader.dataset, "set_epoch"):
            self.loader.dataset.set_epoch(epoch)
        sums: dict[str, float] = {}
        seen = 0
        bar = tqdm(total=steps, desc=f"pretrain {epoch + 1}/{self.s.epochs}", unit="batch", dynamic_ncols=True,
                   disable=not (self.s.progress and self.dist.is_main))
        for i, batch in enumerate(self.loader):
            if i >= steps:
                break
            if batch.get("inputs") is None:
                continue
            loss, stats = self._step(self.prepare(batch["inputs"]), (epoch * steps + i) / (self.s.epochs * steps))
            for k, v in {"pretrain_loss": loss, **stats}.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            seen += 1
            bar.update(1)
            bar.set_postfix(loss=f"{sums['pretrain_loss'] / seen:.4f}")
        bar.close()
        return {"epoch": epoch + 1, **{k: v / max(seen, 1) for k, v in sums.items()}}

    def _save(self, epoch: int) -> None:
        if not self.dist.is_main:
            return
        target = self.folder / f"epoch_{epoch:04d}"
        meta = {**self.meta, "pretrain_epoch": epoch}
        with write_errors(target, OUTPUT_FIX):
            ckpt.save_checkpoint(target, self.model.state_dict(), meta, self.optimizer.state_dict(),
                                 {"epoch": epoch, "history": self.history})
            ckpt.update_pointer(self.folder, "last", target)
            for old in sorted(p for p in self.folder.glob("epoch_*") if p.is_dir())[: -max(self.s.keep_checkpoints, 1)]:
                shutil.rmtree(old, ignore_errors=True)

    def run(self) -> list[dict[str, Any]]:
        """Pre-train (or finish pre-training), then freeze the pre-trained parameters; returns the epoch records."""
        start = self._resume()
        for p in self.params:
            p.requires_grad_(True)
        self.model.train()
        try:
            for epoch in range(start, self.s.epochs):
                record = self._epoch(epoch)
                self.history.append(record)
                self._save(epoch + 1)
                if self.dist.is_main:
                    stats = " ".join(f"{k} {v:.4f}" for k, v in record.items() if k != "epoch")
                    print(f"[vidzoo] pretrain epoch {epoch + 1}/{self.s.epochs}: {stats}", flush=True)
                    with write_errors(self.folder / "metrics.jsonl", OUTPUT_FIX), \
                            open(self.folder / "metrics.jsonl", "a") as f:
                        f.write(json.dumps(record) + "\n")
        finally:
            freeze(self.params)
            self.optimizer.zero_grad(set_to_none=True)
        return self.history


def build_pretrainer(model: torch.nn.Module, loader, prepare: InputPreparer, t: Any, meta: dict[str, Any],
                     dist_info: DistInfo = DistInfo()) -> Pretrainer | None:
    """The pre-training phase ``t`` (the ``trainer`` config section) asks for, or ``None`` for none."""
    epochs = int(getattr(t, "pretrain_epochs", 0))  # absent from configs saved before the option existed
    if epochs < 0:
        raise ConfigValueError(f"trainer.pretrain_epochs must be >= 0 (got {epochs})")
    if epochs == 0:
        if isinstance(model, Pretrainable) and dist_info.is_main:
            print(f"[vidzoo] {meta['model']['name']} has an unsupervised pre-training phase but "
                  "trainer.pretrain_epochs=0: its features stay at their initialisation", flush=True)
        return None
    if not isinstance(model, Pretrainable):
        raise ConfigValueError(f"trainer.pretrain_epochs={epochs}: model {meta['model']['name']!r} has no pre-training "
                               "objective (pretrain_loss); set trainer.pretrain_epochs=0")
    lr = float(getattr(t, "pretrain_lr", 1e-3))
    if lr <= 0:
        raise ConfigValueError(f"trainer.pretrain_lr must be > 0 (got {lr})")
    settings = PretrainSettings(epochs=epochs, lr=lr, output_dir=Path(t.output_dir), resume=bool(t.resume),
                                progress=bool(t.progress), max_steps_per_epoch=int(t.max_steps_per_epoch))
    return Pretrainer(model, loader, prepare, settings, meta, dist_info)
