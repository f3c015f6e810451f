"""The checks over a whole composed training config: values, relations, paths, the machine."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError
from vidzoo.validation.model import check_model
from vidzoo.validation.rules import GPU_PRESET, TEST_CROPS, VALUE_RULES, check_value, choice_rules, get_value


def check_values(cfg: Any, keys: Iterable[str] | None = None) -> None:
    """Every per-value rule over ``cfg`` (or only the rules of ``keys``)."""
    for key in keys if keys is not None else [*choice_rules(), *VALUE_RULES]:
        check_value(key, get_value(cfg, key))


def check_views(data: Any) -> None:
    """``data.crop_size`` fits in the short side ``data.resize`` it is cropped from, and the modality's
    data path can cut ``data.test_crops`` crops."""
    if data.crop_size > data.resize:
        raise ConfigValueError(f"data.crop_size={data.crop_size} is larger than data.resize={data.resize} (the short "
                               f"side it is cropped from); lower data.crop_size or raise data.resize")
    crops = TEST_CROPS.get(data.modality, ())
    if data.test_crops not in crops:
        raise ConfigValueError(f"data.test_crops={data.test_crops} with data.modality={data.modality}: "
                               f"choose one of {', '.join(map(str, crops))}")


def check_relations(cfg: Any, *, check_files: bool = True) -> None:
    """The rules that relate two values (``check_files``: and that every ``data.joint`` root is a folder)."""
    check_views(cfg.data)
    if cfg.sched.min_lr > cfg.optim.lr:
        raise ConfigValueError(f"sched.min_lr={cfg.sched.min_lr} is above optim.lr={cfg.optim.lr}; lower sched.min_lr")
    if cfg.data.source == "synthetic" and cfg.data.split != 1:
        raise ConfigValueError(f"data.split={cfg.data.split}: the synthetic dataset has only split 1")
    if getattr(cfg.data, "joint", None):
        from vidzoo.data.joint import check_joint

        check_joint(cfg.data, check_files=check_files)
        if cfg.trainer.mixup_alpha > 0 or cfg.trainer.cutmix_alpha > 0:
            raise ConfigValueError("trainer.mixup_alpha / trainer.cutmix_alpha with data.joint: a clip mixed from two "
                                   "datasets has no one label block; set both to 0 or train on one dataset")
    if cfg.data.time_reversal and cfg.data.source != "synthetic" and not cfg.data.reverse_pairs:
        raise ConfigValueError(f"data.time_reversal=true needs the class pairs a reversed clip swaps; "
                               f"data.source={cfg.data.source} declares none: set data.reverse_pairs=[[A,B],...] "
                               f"or data.time_reversal=false")


def check_extra(data: Any) -> None:
    """``+data.extra.KEY``: keyword arguments of ``vidzoo.data.annotations.load_split`` (none for synthetic)."""
    extra = sorted(dict(data.extra))
    if not extra:
        return
    if data.source == "synthetic":
        raise ConfigValueError(f"data.source=synthetic takes no data.extra arguments (got {', '.join(extra)}); remove them")
    from vidzoo.data.annotations import load_split

    accepted = [p.name for p in inspect.signature(load_split).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.name not in ("skip_missing", "check_files")]
    unknown = [k for k in extra if k not in accepted]
    if unknown:
        raise ConfigValueError(f"data.extra has no key {unknown[0]!r} (+data.extra.{unknown[0]}); accepted: "
                               f"{', '.join(accepted)}")


def check_paths(cfg: Any) -> None:
    """``data.root`` / ``data.flow_root``: a real dataset needs an existing root folder; no path may be a file."""
    d = cfg.data
    root = str(d.root or "")
    if d.source != "synthetic" and root in ("", "???"):
        raise ConfigValueError(f"data.source={d.source} needs data.root (the dataset directory), e.g. "
                               f"data.root=/data/{d.source}")
    if root and d.source != "synthetic" and not Path(root).expanduser().is_dir():
        raise ConfigValueError(f"data.root={root} is not a directory; point it at the {d.source} dataset folder")
    for key in ("data.root", "data.flow_root"):
        path = str(get_value(cfg, key) or "")
        if path and Path(path).expanduser().is_file():
            raise ConfigValueError(f"{key}={path} is a file; give a directory")
    init = str(getattr(cfg.model, "init_weights", "") or "")
    if init and not Path(init).expanduser().exists():
        raise ConfigValueError(f"model.init_weights={init} does not exist; give a vidzoo-import-weights folder, a "
                               f"checkpoint or run folder, or a .safetensors/.pth file (nothing is downloaded)")
    out = str(cfg.trainer.output_dir)
    if Path(out).expanduser().is_file():
        raise ConfigValueError(f"trainer.output_dir={out} is a file; give a new or existing run directory")


def check_machine(cfg: Any, trainer_preset: str | None = None) -> None:
    """Rules that need to know whether a CUDA device is visible (imports torch only when one of them applies)."""
    t = cfg.trainer
    wants_gpu = [
        (t.batch_size == "auto", "trainer.batch_size=auto measures GPU memory; set data.batch_size instead"),
        (str(t.device).startswith("cuda"), f"trainer.device={t.device}; use trainer.device=cpu or auto"),
        (trainer_preset == GPU_PRESET, f"trainer={GPU_PRESET} is the GPU preset (bf16, channels_last_3d, "
                                       f"torch.compile); drop trainer={GPU_PRESET} on a CPU machine"),
        (t.precision == "fp16", "trainer.precision=fp16 needs a GPU; use bf16 or fp32"),
    ]
    reasons = [why for applies, why in wants_gpu if applies]
    if reasons and not cuda_visible():
        raise ConfigValueError(f"no CUDA device is visible: {reasons[0]}")


def cuda_visible() -> bool:
    """Whether torch sees a CUDA (or ROCm) device; a machine without the driver's device files is answered
    without importing torch."""
    if not any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd")):
        return False
    import torch

    return torch.cuda.is_available()


def check_cheap(cfg: Any, *, check_files: bool = True, relations: bool = True) -> None:
    """The rules that read only the config (and the file system): values, relations, paths."""
    check_values(cfg)
    check_extra(cfg.data)
    if relations:
        check_relations(cfg, check_files=check_files)
    if check_files:
        check_paths(cfg)


def check_costly(cfg: Any, trainer_preset: str | None = None, *, check_files: bool = True) -> None:
    """The rules that may import torch: a GPU for GPU-only settings, the model's builder and its keys
    (``check_files``: and that the ``*_weights`` files it names exist)."""
    check_machine(cfg, trainer_preset)
    check_model(cfg.model.name, dict(cfg.model.kwargs), check_files=check_files)


def validate_config(cfg: Any, *, trainer_preset: str | None = None, check_files: bool = True) -> None:
    """All rules over a composed training config, cheapest first; the first failure raises ConfigValueError."""
    check_cheap(cfg, check_files=check_files)
    check_costly(cfg, trainer_preset, check_files=check_files)
