"""Every rule a config value must satisfy, checked when the config is composed (before a run folder exists).

The rules read plain attribute access, so they take an OmegaConf ``DictConfig`` or the dataclasses of
:mod:`vidzoo.config` alike, and this module imports neither Hydra nor torch: a bad value is reported in a
fraction of a second. Only the checks that need the machine or the model registry (a CUDA device, a
builder's signature) import torch, and they run last. Each failure raises
:class:`vidzoo.errors.ConfigValueError` with one line that names the key, the value and what is allowed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError

MODALITIES = ("rgb", "flow", "rgb+flow")
SAMPLERS = ("random", "segment", "sequence")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: ``data.test_crops`` per ``data.modality``: the RGB clip path takes a centre or three crops, the flow path
#: (flow, rgb+flow) also the five and ten crops (corners, centre, and their flips) of the two-stream papers.
TEST_CROPS = {"rgb": (1, 3), "flow": (1, 3, 5, 10), "rgb+flow": (1, 3, 5, 10)}
CHECKPOINT_CHOICES = ("best", "last")
#: The trainer preset that only makes sense with a GPU (bf16, channels_last_3d, torch.compile).
GPU_PRESET = "gpu_fast"


def decoders() -> tuple[str, ...]:
    """The registered decoding backends (``data.decoder``); reading the table imports no backend."""
    from vidzoo.data.decoding import BACKEND_MODULES

    return tuple(BACKEND_MODULES)


def sources() -> tuple[str, ...]:
    """The dataset layouts ``data.source`` may name (those ``vidzoo.data.annotations`` reads)."""
    from vidzoo.data.annotations import SOURCES

    return tuple(SOURCES)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def int_at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    """A rule for an integer ``>= low``: ``(predicate, what is allowed)``."""
    return (lambda v: _is_int(v) and v >= low), f"an integer >= {low}"


def number_in(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False
              ) -> tuple[Callable[[Any], bool], str]:
    """A rule for a number in ``[low, high]`` (either end open on request; ``high=None``: unbounded)."""

    def ok(v: Any) -> bool:
        if not _is_number(v):
            return False
        above = v > low if low_open else v >= low
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    lo = f"> {low}" if low_open else f">= {low}"
    hi = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
    return ok, f"a number {lo}{hi}"


_POSITIVE = int_at_least(1)
_NON_NEGATIVE = int_at_least(0)

#: key -> (predicate, what is allowed), for single values a user can type.
VALUE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "data.split": _POSITIVE,
    "data.num_frames": _POSITIVE,
    "data.stride": _POSITIVE,
    "data.resize": _POSITIVE,
    "data.crop_size": _POSITIVE,
    "data.test_clips": _POSITIVE,
    "data.test_crops": ((lambda v: _is_int(v) and v in (1, 3, 5, 10)), "1, 3, 5 or 10 (5 and 10: flow modalities)"),
    "data.flow_length": _POSITIVE,
    "data.seq_clips": _POSITIVE,
    "data.batch_size": _POSITIVE,
    "data.num_workers": _NON_NEGATIVE,
    "data.prefetch_factor": _POSITIVE,
    "data.synthetic.train_per_class": _POSITIVE,
    "data.synthetic.test_per_class": _POSITIVE,
    "data.synthetic.num_frames": _POSITIVE,
    "data.synthetic.fps": _POSITIVE,
    "data.synthetic.size": ((lambda v: len(v) == 2 and all(_is_int(x) and x >= 16 for x in v)),
                            "two integers [H, W], each >= 16"),
    "optim.lr": number_in(0, low_open=True),
    "optim.momentum": number_in(0, 1, high_open=True),
    "optim.weight_decay": number_in(0),
    "optim.betas": ((lambda v: len(v) == 2 and all(number_in(0, 1, high_open=True)[0](x) for x in v)),
                    "two numbers [beta1, beta2], each >= 0 and < 1"),
    "sched.warmup_epochs": number_in(0),
    "sched.min_lr": number_in(0),
    "sched.gamma": number_in(0, 1, low_open=True),
    "sched.step_epochs": ((lambda v: all(_is_int(x) and x >= 1 for x in v)), "a list of integers >= 1"),
    "trainer.epochs": _POSITIVE,
    "trainer.grad_clip": number_in(0),
    "trainer.grad_accum": _POSITIVE,
    "trainer.label_smoothing": number_in(0, 1, high_open=True),
    "trainer.eval_every": _POSITIVE,
    "trainer.keep_checkpoints": _NON_NEGATIVE,
    "trainer.max_steps_per_epoch": _NON_NEGATIVE,
    "trainer.stop_after_epoch": _NON_NEGATIVE,
    "trainer.batch_size": ((lambda v: v in (None, "", "auto")), "'auto' or unset (the batch is data.batch_size)"),
    "trainer.device": ((lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda") or _is_cuda_index(v))),
                       "auto, cpu, cuda or cuda:N"),
}


def _is_cuda_index(v: str) -> bool:
    head, _, index = v.partition(":")
    return head == "cuda" and index.isdigit()


def choice_rules() -> dict[str, tuple[Any, ...]]:
    """key -> the allowed names."""
    return {
        "data.source": sources(), "data.modality": MODALITIES, "data.sampler": SAMPLERS, "data.decoder": decoders(),
        "optim.name": OPTIMIZERS, "sched.name": SCHEDULES, "trainer.precision": PRECISIONS,
    }


def get_value(cfg: Any, key: str) -> Any:
    """``cfg.data.num_frames`` for ``key="data.num_frames"``; a list-like node comes back as a list."""
    node = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return list(node) if isinstance(node, (list, tuple)) or type(node).__name__ == "ListConfig" else node


def check_choice(key: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigValueError(f"unknown {key} {value!r}; choose one of: {', '.join(map(str, allowed))}")


def check_value(key: str, value: Any) -> None:
    """Check one ``key=value`` against its rule (keys without a rule pass)."""
    choices = choice_rules()
    if key in choices:
        check_choice(key, value, choices[key])
    elif key in VALUE_RULES:
        ok, allowed = VALUE_RULES[key]
        try:
            good = ok(value)
        except TypeError:  # e.g. len() of a number given for a list key
            good = False
        if not good:
            raise ConfigValueError(f"{key}={value!r} is out of range: it must be {allowed}")


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


def check_relations(cfg: Any) -> None:
    """The rules that relate two values."""
    check_views(cfg.data)
    if cfg.sched.min_lr > cfg.optim.lr:
        raise ConfigValueError(f"sched.min_lr={cfg.sched.min_lr} is above optim.lr={cfg.optim.lr}; lower sched.min_lr")
    if cfg.data.source == "synthetic" and cfg.data.split != 1:
        raise ConfigValueError(f"data.split={cfg.data.split}: the synthetic dataset has only split 1")
    if cfg.data.time_reversal and cfg.data.source != "synthetic":
        raise ConfigValueError(f"data.time_reversal=true needs data.source=synthetic (got {cfg.data.source}); "
                               f"set it to false")


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
                                       f"torch.compile); drop it on a CPU machine (trainer=default)"),
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


def _accepted_keys(builder: Callable[..., Any], callee: str | None) -> list[str]:
    """The builder's named arguments plus, when it forwards ``**kwargs``, those of the callee a TypeError named."""
    params = [p for p in inspect.signature(builder).parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    names = [p.name for p in params]
    target = getattr(inspect.getmodule(builder), (callee or "").split(".")[0], None)
    if callable(target):
        names += [p.name for p in inspect.signature(target).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names]
    return [n for n in names if n not in ("self", "num_classes")]


def _dry_build(name: str, builder: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Call the builder on the meta device (no memory, no weights): a misspelt key or a bad value fails here,
    before any run folder exists. Builders handed a weights file are left to the real build."""
    import re

    import torch

    weights = {k: v for k, v in kwargs.items() if k.endswith("_weights") and isinstance(v, str)}
    for key, path in weights.items():
        if path and not Path(path).expanduser().exists():
            raise ConfigValueError(f"+model.kwargs.{key}={path} does not exist; give a .safetensors file or a run folder")
    if weights:
        return
    try:
        with torch.device("meta"):
            builder(num_classes=10, **kwargs)
    except TypeError as exc:
        found = re.search(r"(\S+)\(\) got (an unexpected|multiple values for) keyword argument '(\w+)'", str(exc))
        if not found:
            raise ConfigValueError(f"model {name!r} cannot be built with model.kwargs {kwargs}: {exc}") from None
        callee, kind, key = found.groups()
        if kind == "multiple values for":
            raise ConfigValueError(f"model {name!r} sets {key!r} itself; remove +model.kwargs.{key}") from None
        accepted = ", ".join(_accepted_keys(builder, callee))
        raise ConfigValueError(f"model {name!r} has no argument {key!r} (+model.kwargs.{key}); accepted: "
                               f"{accepted}") from None
    except ValueError as exc:
        raise ConfigValueError(f"model.kwargs of {name!r}: {exc}") from None


def check_model(name: str, kwargs: dict[str, Any]) -> None:
    """``model.name`` is registered and ``model.kwargs`` build it (names and values, checked on the meta device)."""
    from vidzoo.models.registry import UnknownModelError, get_model_info

    try:
        info = get_model_info(name)
    except UnknownModelError as exc:
        raise ConfigValueError(f"model.name: {exc}") from None
    if "num_classes" in kwargs:
        raise ConfigValueError("model.kwargs.num_classes is set from the dataset's classes; remove it")
    params = inspect.signature(info.builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(k for k in kwargs if k not in params)
        if unknown:
            raise ConfigValueError(f"model {name!r} has no argument {unknown[0]!r} (+model.kwargs.{unknown[0]}); "
                                   f"accepted: {', '.join(_accepted_keys(info.builder, None))}")
    if kwargs:
        _dry_build(name, info.builder, kwargs)


def check_cheap(cfg: Any, *, check_files: bool = True, relations: bool = True) -> None:
    """The rules that read only the config (and the file system): values, relations, paths."""
    check_values(cfg)
    check_extra(cfg.data)
    if relations:
        check_relations(cfg)
    if check_files:
        check_paths(cfg)


def check_costly(cfg: Any, trainer_preset: str | None = None) -> None:
    """The rules that may import torch: a GPU for GPU-only settings, the model's builder and its keys."""
    check_machine(cfg, trainer_preset)
    check_model(cfg.model.name, dict(cfg.model.kwargs))


def validate_config(cfg: Any, *, trainer_preset: str | None = None, check_files: bool = True) -> None:
    """All rules over a composed training config, cheapest first; the first failure raises ConfigValueError."""
    check_cheap(cfg, check_files=check_files)
    check_costly(cfg, trainer_preset)


def _optional(rule: tuple[Callable[[Any], bool], str]) -> tuple[Callable[[Any], bool], str]:
    ok, allowed = rule
    return (lambda v: v is None or ok(v)), f"{allowed} (or left out)"


_JPEG_QUALITY = ((lambda v: _is_int(v) and 1 <= v <= 100), "an integer from 1 to 100")

#: ``vidzoo-extract-flow`` flags (argparse dest -> rule).
FLOW_FLAG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "quality": _JPEG_QUALITY,
    "resize": _optional(int_at_least(8)),
    "bound": number_in(0, low_open=True),
    "workers": _NON_NEGATIVE,
    "max_videos": _optional(_POSITIVE),
}

#: ``vidzoo-prepare-dataset`` flags (argparse dest -> rule).
PREPARE_FLAG_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "quality": _JPEG_QUALITY,
    "short_side": _NON_NEGATIVE,
    "workers": _POSITIVE,
    "list": _NON_NEGATIVE,
    "split": ((lambda v: all(_is_int(x) and x >= 1 for x in v)), "split numbers >= 1"),
}


def check_flags(args: Any, rules: dict[str, tuple[Callable[[Any], bool], str]]) -> None:
    """Check parsed argparse flags (``args.<dest>``) against ``rules``; the message names the flag."""
    for dest, (ok, allowed) in rules.items():
        value = getattr(args, dest)
        if not ok(value):
            raise ConfigValueError(f"--{dest.replace('_', '-')} {value} is out of range: it must be {allowed}")


def _need_dir(flag: str, path: str | Path, what: str) -> None:
    if not Path(path).expanduser().is_dir():
        raise ConfigValueError(f"{flag} {path} is not a directory; give {what}")


def _not_a_file(flag: str, path: str | Path | None) -> None:
    if path and Path(path).expanduser().is_file():
        raise ConfigValueError(f"{flag} {path} is a file; give a directory (it is created if missing)")


def check_flow_args(args: Any) -> None:
    """``vidzoo-extract-flow``: flag ranges, an existing video folder, a flow root that is not a file."""
    check_flags(args, FLOW_FLAG_RULES)
    _need_dir("video_root", args.video_root, "the folder that holds the videos")
    _not_a_file("--flow-root", args.flow_root)
    if args.list_file and not Path(args.list_file).expanduser().is_file():
        raise ConfigValueError(f"--list {args.list_file} does not exist; give a list file (one video per line)")


def check_prepare_args(args: Any) -> None:
    """``vidzoo-prepare-dataset``: flag ranges, an existing dataset root, output paths of the right kind."""
    check_flags(args, PREPARE_FLAG_RULES)
    _need_dir("--root", args.root, "the dataset folder (as data.root)")
    if args.frames:
        frames = Path(args.frames) if Path(args.frames).is_absolute() else Path(args.root) / args.frames
        _not_a_file("--frames", frames)
    if args.cache and Path(args.cache).expanduser().is_dir():
        raise ConfigValueError(f"--cache {args.cache} is a directory; give the index file's path (e.g. index.json)")
