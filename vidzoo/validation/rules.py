"""The rule table: allowed names and ranges of single values, and how a rule reads a config."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vidzoo.errors import ConfigValueError

MODALITIES = ("rgb", "flow", "rgb+flow")
SAMPLERS = ("random", "segment", "sequence", "multiclip")
TRAIN_CROPS = ("random", "multiscale", "random_resized")  # vidzoo.data.clip_augment.CROPS
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: ``data.test_crops`` per ``data.modality``: one pipeline for every modality cuts a centre crop, three crops,
#: or the five and ten crops (corners, centre, and their flips) of the two-stream papers.
TEST_CROPS = {"rgb": (1, 3, 5, 10), "flow": (1, 3, 5, 10), "rgb+flow": (1, 3, 5, 10)}
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


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def int_at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    """A rule for an integer ``>= low``: ``(predicate, what is allowed)``."""
    return (lambda v: is_int(v) and v >= low), f"an integer >= {low}"


def number_in(low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = False
              ) -> tuple[Callable[[Any], bool], str]:
    """A rule for a number in ``[low, high]`` (either end open on request; ``high=None``: unbounded)."""

    def ok(v: Any) -> bool:
        if not is_number(v):
            return False
        above = v > low if low_open else v >= low
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    lo = f"> {low}" if low_open else f">= {low}"
    hi = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
    return ok, f"a number {lo}{hi}"


POSITIVE_INT = int_at_least(1)
NON_NEGATIVE_INT = int_at_least(0)

#: key -> (predicate, what is allowed), for single values a user can type.
VALUE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "data.split": POSITIVE_INT,
    "data.num_frames": POSITIVE_INT,
    "data.stride": POSITIVE_INT,
    "data.resize": POSITIVE_INT,
    "data.crop_size": POSITIVE_INT,
    "data.test_clips": POSITIVE_INT,
    "data.test_crops": ((lambda v: is_int(v) and v in (1, 3, 5, 10)), "1, 3, 5 or 10"),
    "data.flow_length": POSITIVE_INT,
    "data.seq_clips": POSITIVE_INT,
    "data.clip_strides": ((lambda v: len(v) == 2 and all(is_int(x) and x >= 1 for x in v) and v[0] <= v[1]),
                          "two integers [min, max], 1 <= min <= max"),
    "data.flip": number_in(0, 1),
    "data.crop_scales": ((lambda v: len(v) >= 1 and all(number_in(0, 1, low_open=True)[0](x) for x in v)),
                         "a non-empty list of numbers in (0, 1]"),
    "data.crop_area": ((lambda v: len(v) == 2 and all(number_in(0, 1, low_open=True)[0](x) for x in v)
                        and v[0] <= v[1]), "two numbers [min, max], 0 < min <= max <= 1"),
    "data.color_jitter": ((lambda v: len(v) in (0, 4) and all(number_in(0)[0](x) for x in v)
                           and (not v or v[3] <= 0.5)), "[] (off) or [brightness, contrast, saturation, hue], "
                                                        "each >= 0, hue <= 0.5"),
    "data.flip_pairs": ((lambda v: v is None or all(len(p) == 2 for p in v)), "null or a list of [A, B] class pairs"),
    "data.reverse_pairs": ((lambda v: v is None or all(len(p) == 2 for p in v)),
                           "null or a list of [A, B] class pairs"),
    "data.batch_size": POSITIVE_INT,
    "data.num_workers": NON_NEGATIVE_INT,
    "data.prefetch_factor": POSITIVE_INT,
    "data.synthetic.train_per_class": POSITIVE_INT,
    "data.synthetic.test_per_class": POSITIVE_INT,
    "data.synthetic.num_frames": POSITIVE_INT,
    "data.synthetic.fps": POSITIVE_INT,
    "data.synthetic.size": ((lambda v: len(v) == 2 and all(is_int(x) and x >= 16 for x in v)),
                            "two integers [H, W], each >= 16"),
    "optim.lr": number_in(0, low_open=True),
    "optim.momentum": number_in(0, 1, high_open=True),
    "optim.weight_decay": number_in(0),
    "optim.betas": ((lambda v: len(v) == 2 and all(number_in(0, 1, high_open=True)[0](x) for x in v)),
                    "two numbers [beta1, beta2], each >= 0 and < 1"),
    "sched.warmup_epochs": number_in(0),
    "sched.min_lr": number_in(0),
    "sched.gamma": number_in(0, 1, low_open=True),
    "sched.step_epochs": ((lambda v: all(is_int(x) and x >= 1 for x in v)), "a list of integers >= 1"),
    "trainer.epochs": POSITIVE_INT,
    "trainer.grad_clip": number_in(0),
    "trainer.grad_accum": POSITIVE_INT,
    "trainer.label_smoothing": number_in(0, 1, high_open=True),
    "trainer.mixup_alpha": number_in(0),
    "trainer.cutmix_alpha": number_in(0),
    "trainer.mix_prob": number_in(0, 1),
    "trainer.mix_switch_prob": number_in(0, 1),
    "trainer.eval_every": POSITIVE_INT,
    "trainer.keep_checkpoints": NON_NEGATIVE_INT,
    "trainer.max_steps_per_epoch": NON_NEGATIVE_INT,
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
        "data.crop": TRAIN_CROPS,
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
