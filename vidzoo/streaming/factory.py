"""Build the learners a stream config names, on one frozen backbone.

Every learner that trains an output layer starts from the backbone's own classifier, its rows mapped from the
checkpoint's class order onto the dataset's (a class the checkpoint never saw starts at zero), so at the
start of the stream every learner predicts the base classes as the base model does.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

from torch import nn

from vidzoo.streaming.baselines import FineTune, Offline
from vidzoo.streaming.checks import check_names
from vidzoo.streaming.exstream import ExStream
from vidzoo.streaming.heads import remap_linear, set_submodule
from vidzoo.streaming.remind import Remind
from vidzoo.streaming.slda import StreamingLDA
from vidzoo.streaming.split import split_at

def class_rows(dataset_classes: Sequence[str], checkpoint_classes: Sequence[str]) -> list[int | None]:
    """For each dataset class, its row in the checkpoint's classifier (None when the checkpoint lacks it)."""
    index = {c: i for i, c in enumerate(checkpoint_classes)}
    return [index.get(c) for c in dataset_classes]


def _sgd(section: Any) -> dict[str, float]:
    return {"lr": float(section.lr), "momentum": float(section.momentum), "weight_decay": float(section.weight_decay)}


def build_learners(s: Any, model: nn.Module, classifier: str, rows: Sequence[int | None],
                   class_names: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """``s`` is the ``streaming`` config section; ``model`` the trained backbone (left untouched)."""
    check_names(s)
    head = remap_linear(model.get_submodule(classifier), rows)
    common = {"new_classes": s.new_classes, "class_names": list(class_names)}
    out: dict[str, Any] = {}
    for name in s.learners:
        if name == "slda":
            out[name] = StreamingLDA(head.in_features, shrinkage=s.slda.shrinkage, plastic=s.slda.plastic, **common)
        elif name == "exstream":
            out[name] = ExStream(copy.deepcopy(head), capacity=s.exstream.capacity, replay_size=s.exstream.replay_size,
                                 seed=seed, **_sgd(s.exstream), **common)
        else:
            r = s.remind
            top = split_at(copy.deepcopy(model), r.layer).top.requires_grad_(True)
            set_submodule(top, classifier, copy.deepcopy(head))
            out[name] = Remind(top, classifier, buffer_bytes=r.buffer_bytes, num_subvectors=r.num_subvectors,
                               nbits=r.nbits, replay_size=r.replay_size, crop_min_scale=r.crop_min_scale,
                               mixup_alpha=r.mixup_alpha, seed=seed, **_sgd(r), **common)
    if "finetune" in s.baselines:
        out["finetune"] = FineTune(copy.deepcopy(head), **_sgd(s.finetune), **common)
    if "offline" in s.baselines:
        out["offline"] = Offline(copy.deepcopy(head), epochs=s.offline.epochs, batch_size=s.offline.batch_size,
                                 seed=seed, **_sgd(s.offline))
    return out
