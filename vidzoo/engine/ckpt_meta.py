"""What a checkpoint's JSON and tensors may hold, checked before anything is built from them.

Numbers in ``meta.json`` decide how large a model is; a forged ``num_classes=10**9`` or width must be
refused, not allocated. So the model spec and preprocessing are checked against sane bounds, the weights
must match the model in name, shape and dtype (nothing is cast silently) and be finite, the format
version must be one this code writes, and the stored training config is plain data (no ``${...}``
interpolation is ever resolved). Every refusal is one :class:`CheckpointError` line naming the file and
the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vidzoo.errors import CheckpointError

FORMAT_VERSION = 1
MAX_CLASSES = 100_000
#: Bound on every number among a model's constructor arguments (widths, hidden sizes, flow lengths).
MAX_KWARG = 65_536
MAX_LIST = 64
MAX_TEXT = 512
#: ``preprocessing`` integers: (lowest, highest).
PREPROCESSING_BOUNDS = {"num_frames": (1, 1024), "stride": (1, 256), "resize": (1, 4096), "crop_size": (1, 4096),
                        "seq_clips": (1, 64)}
#: What a training resume reads from ``train_state.json``, with the type each must have.
TRAIN_STATE_FIELDS = {"epoch": int, "step": int, "best_epoch": int, "best_metric": (int, float), "history": list,
                      "failed": list}


def _fail(file: Path | str, field: str, problem: str, fix: str = "pick another checkpoint") -> CheckpointError:
    return CheckpointError(f"{file}: field {field!r} {problem}; {fix}")


def check_int(value: Any, file: Path | str, field: str, lo: int, hi: int) -> int:
    """``value`` as an int in ``[lo, hi]`` (a bool is not an int here), else a one-line error."""
    if type(value) is not int:
        raise _fail(file, field, f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise _fail(file, field, f"is {value}, outside the sane range {lo}..{hi}", "refusing to allocate from it")
    return value


def check_format(meta: Mapping[str, Any], file: Path | str) -> None:
    """Refuse a ``meta.json`` without ``format_version`` or with one this code does not write."""
    if "format_version" not in meta:
        raise _fail(file, "format_version", "is missing", "it was not written by vidzoo; re-save it or pick another")
    version = meta["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise _fail(file, "format_version", f"is {version!r}, but this vidzoo reads version {FORMAT_VERSION}",
                    "upgrade vidzoo or re-save the checkpoint")


def _check_value(value: Any, file: Path | str, field: str) -> None:
    """A constructor argument: a bounded number, a short string, a bool, None, or a short list of those."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and abs(value) <= MAX_KWARG):
            raise _fail(file, field, f"is {value!r}, outside the sane range -{MAX_KWARG}..{MAX_KWARG}",
                        "refusing to build a model from it")
        return
    if isinstance(value, str):
        if len(value) > MAX_TEXT or "${" in value:
            raise _fail(file, field, "is not a short plain string", "refusing it")
        return
    if isinstance(value, list) and len(value) <= MAX_LIST:
        for i, item in enumerate(value):
            if isinstance(item, list):
                raise _fail(file, f"{field}[{i}]", "is a nested list", "refusing it")
            _check_value(item, file, f"{field}[{i}]")
        return
    raise _fail(file, field, f"has an unsupported value of type {type(value).__name__}", "refusing it")


def check_model_spec(meta: Mapping[str, Any], file: Path | str) -> tuple[str, int, dict[str, Any]]:
    """``(name, num_classes, kwargs)`` of ``meta["model"]`` after the bounds checks; also checks
    ``class_names`` (one per class) and ``preprocessing`` when present."""
    spec = meta.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise _fail(file, "model", "is missing or has no 'name'", "it was not written by vidzoo")
    num_classes = check_int(spec.get("num_classes"), file, "model.num_classes", 1, MAX_CLASSES)
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict) or len(kwargs) > MAX_LIST:
        raise _fail(file, "model.kwargs", "must be a small object of constructor arguments")
    for key, value in kwargs.items():
        _check_value(value, file, f"model.kwargs.{key}")
    names = meta.get("class_names")
    primary = check_label_blocks(meta.get("preprocessing", {}), num_classes, file)  # < num_classes: multi-task
    if names is not None and (not isinstance(names, list) or len(names) not in (0, primary)
                              or not all(isinstance(n, str) and len(n) <= MAX_TEXT for n in names)):
        raise _fail(file, "class_names", f"must be a list of {primary} short strings (model.num_classes, or the "
                    "first label block's), or empty when the names are unknown (imported weights)")
    check_preprocessing(meta.get("preprocessing", {}), file)
    return spec["name"], num_classes, dict(kwargs)


def check_preprocessing(prep: Any, file: Path | str) -> None:
    """Frame counts and sizes within :data:`PREPROCESSING_BOUNDS`; mean/std short lists of finite numbers."""
    if not isinstance(prep, dict):
        raise _fail(file, "preprocessing", "must be an object")
    for key, (lo, hi) in PREPROCESSING_BOUNDS.items():
        if key in prep:
            check_int(prep[key], file, f"preprocessing.{key}", lo, hi)
    for key in ("mean", "std"):
        values = prep.get(key, [])
        if not isinstance(values, list) or len(values) > MAX_LIST or not all(
                type(v) in (int, float) and math.isfinite(v) for v in values):
            raise _fail(file, f"preprocessing.{key}", "must be a short list of finite numbers")
    for key, value in prep.items():
        if key == "augment":
            _check_augment(value, file)
        elif key != "label_blocks":  # checked against model.num_classes by check_label_blocks
            _check_value(value, file, f"preprocessing.{key}")


def _check_augment(augment: Any, file: Path | str) -> None:
    """``preprocessing.augment``: the training-only augmentation settings; class pairs are lists of two names."""
    if not isinstance(augment, dict):
        raise _fail(file, "preprocessing.augment", "must be an object")
    for key, value in augment.items():
        field = f"preprocessing.augment.{key}"
        if key.endswith("_pairs"):
            if not isinstance(value, list) or len(value) > MAX_LIST or not all(
                    isinstance(p, list) and len(p) == 2 for p in value):
                raise _fail(file, field, "must be a short list of [A, B] class pairs", "refusing it")
            for i, pair in enumerate(value):
                _check_value(pair, file, f"{field}[{i}]")
        else:
            _check_value(value, file, field)


def check_label_blocks(prep: Any, num_classes: int, file: Path | str) -> int:
    """How many classes the primary dataset has: ``num_classes``, or the first block's size when
    ``preprocessing.label_blocks`` (multi-task training) holds contiguous blocks ``{source, start, stop, classes}``
    from 0 to ``num_classes``."""
    blocks = prep.get("label_blocks") if isinstance(prep, dict) else None
    if blocks is None:
        return num_classes
    field = "preprocessing.label_blocks"
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= MAX_LIST:
        raise _fail(file, field, "must be a short list of label blocks")
    start = 0
    for i, b in enumerate(blocks):
        ok = (isinstance(b, dict) and set(b) == {"source", "start", "stop", "classes"}
              and isinstance(b["source"], str) and len(b["source"]) <= MAX_TEXT and b["start"] == start
              and type(b["start"]) is int and type(b["stop"]) is int and start < b["stop"] <= num_classes
              and isinstance(b["classes"], list) and len(b["classes"]) == b["stop"] - start
              and all(isinstance(n, str) and len(n) <= MAX_TEXT for n in b["classes"]))
        if not ok:
            raise _fail(file, f"{field}[{i}]", f"must be {{source, start: {start}, stop, classes: one name per class}} "
                        f"within model.num_classes={num_classes}")
        start = b["stop"]
    if start != num_classes:
        raise _fail(file, field, f"ends at class {start}, not at model.num_classes={num_classes}")
    return blocks[0]["stop"]


def inference_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments minus pre-training options, which only matter for training.

    ``*_weights`` strings name files to initialise from (outside the checkpoint, never read when loading
    one: its own weights replace them) and ``freeze_*`` flags only stop gradients.
    """
    return {k: v for k, v in kwargs.items()
            if not (k.endswith("_weights") and isinstance(v, str)) and not k.startswith("freeze_")}


def state_problems(own: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> list[str]:
    """How ``state`` differs from a model's ``own`` state dict: missing/unexpected keys, shapes, dtypes."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    common = [k for k in own if k in state]
    wrong = [k for k in common if tuple(own[k].shape) != tuple(state[k].shape)]
    dtypes = [k for k in common if k not in wrong and own[k].dtype != state[k].dtype]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        problems.append(f"{len(wrong)} of other shape (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})")
    if dtypes:
        k = dtypes[0]
        problems.append(f"{len(dtypes)} of other dtype (e.g. {k}: {state[k].dtype} vs {own[k].dtype}; "
                        "nothing is cast silently)")
    return problems


def check_finite(state: Mapping[str, torch.Tensor], source: str) -> None:
    """Refuse NaN or infinite values in any floating-point tensor of ``state``."""
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{source}: tensor {key!r} holds NaN or infinite values; the run diverged or the "
                                  "file is damaged - pick an earlier checkpoint")


def weights_header(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file as ``meta``-device tensors (names, shapes, dtypes; no data read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: _meta_tensor(f.get_slice(k)) for k in f.keys()}
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(exc).splitlines()[0]}); "
                              "pick another checkpoint") from None


def _meta_tensor(tensor_slice: Any) -> torch.Tensor:
    dtype = getattr(torch, {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                            "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
                            "BOOL": "bool"}.get(tensor_slice.get_dtype(), "complex64"))
    return torch.empty(tensor_slice.get_shape(), dtype=dtype, device="meta")


def check_train_state(info: Mapping[str, Any], file: Path | str, required: tuple[str, ...] = ()) -> None:
    """Types of ``train_state.json``: the RNG snapshot, and each of :data:`TRAIN_STATE_FIELDS` present
    (``required`` ones must be)."""
    for key, kind in TRAIN_STATE_FIELDS.items():
        if key not in info:
            if key in required:
                raise _fail(file, key, "is missing", "the training state is incomplete; pick another checkpoint")
            continue
        if isinstance(info[key], bool) or not isinstance(info[key], kind):
            raise _fail(file, key, f"has the wrong type ({type(info[key]).__name__})")
        if kind is int:
            check_int(info[key], file, key, -1, 10**12)
    rng = info.get("rng")
    ok = isinstance(rng, dict) and isinstance(rng.get("numpy"), list) and isinstance(rng.get("python"), list)
    if ok:
        numpy_state, python_state = rng["numpy"], rng["python"]
        ok = (len(numpy_state) == 5 and isinstance(numpy_state[1], list) and len(numpy_state[1]) == 624
              and len(python_state) == 3 and isinstance(python_state[1], list) and len(python_state[1]) == 625
              and all(type(v) is int and 0 <= v < 2**32 for v in numpy_state[1] + python_state[1]))
    if not ok:
        raise _fail(file, "rng", "is not a numpy + python RNG snapshot written by vidzoo")
