"""Helpers for the tests of models with an unsupervised pre-training objective (``vidzoo.models._pretrain``)."""

from __future__ import annotations

import torch


def translating_clips(batch: int, frames: int, size: int, crop: int = 0) -> torch.Tensor:
    """``(batch, 3, frames, size - 2 crop, size - 2 crop)`` clips of random noise moving one pixel right per frame."""
    base = torch.randn(batch, 3, 1, size, size)
    clips = torch.cat([torch.roll(base, shifts=k, dims=4) for k in range(frames)], dim=2)
    return clips[..., crop: size - crop, crop: size - crop]


def pretrain(model: torch.nn.Module, clips: torch.Tensor, steps: int, lr: float = 1e-2) -> list[dict[str, float]]:
    """``steps`` Adam steps of ``model.pretrain_loss`` on ``clips`` (the trainer's loop in miniature); returns
    each step's stats with its loss under ``"loss"``."""
    params = model.pretrain_parameters()
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    for _ in range(steps):
        loss, stats = model.pretrain_loss(clips, 0.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.after_pretrain_step()
        history.append({"loss": float(loss.detach()), **stats})
    return history
