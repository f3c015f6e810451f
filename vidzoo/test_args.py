"""The ``vidzoo-test`` command line: ``key=value`` arguments, checked before a checkpoint or torch is touched."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError, checkpoint_not_found
from vidzoo.validation import CHECKPOINT_CHOICES, PRECISIONS, VALUE_RULES, check_choice, check_value, get_value

USAGE = """\
usage: vidzoo-test checkpoint=PATH [which=best|last] [output=DIR] [device=auto|cpu|cuda|cuda:N]
                   [precision=auto|fp32|bf16|fp16] [progress=true|false] [data.KEY=VALUE ...]

Evaluate a saved checkpoint on the held-out split its training config names: clip and video top-1/top-5,
per-class accuracy, a confusion-matrix PNG and test_report.json.

  checkpoint=PATH   a run directory (its best or last checkpoint) or one checkpoint directory
  which=best|last   which checkpoint of a run directory (default: best)
  output=DIR        where the report goes (default: <run>/test-split<N>)
  device, precision as trainer.device / trainer.precision (default: auto)
  progress=false    no progress bar
  data.KEY=VALUE    override the training config's data section, e.g. data.split=2 data.test_clips=10
                    data.test_crops=3 data.root=/data/ucf101

example: vidzoo-test checkpoint=runs/my-run data.test_clips=10 data.test_crops=3
"""

_TOP_LEVEL = ("checkpoint", "which", "output", "device", "precision", "progress")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _check_data_override(arg: str) -> None:
    """``data.KEY=VALUE``: a key of the data schema, a value of its type and range."""
    from omegaconf import OmegaConf

    from vidzoo.config import Config

    schema = OmegaConf.structured(Config)
    key = arg.partition("=")[0]
    try:
        schema.merge_with_dotlist([arg])
    except Exception as exc:
        if "not in" in str(exc) or "Key" in str(exc).split(" ")[0]:
            known = [f"data.{k}" for k in schema.data.keys()]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known)}"
            raise ConfigValueError(f"unknown key {key!r} in {arg!r}; {hint}") from None
        raise ConfigValueError(f"bad value in {arg!r}: {str(exc).splitlines()[0]}") from None
    if not key.startswith(("data.extra.", "data.synthetic.")):
        check_value(key, get_value(schema, key))


def parse_test_args(argv: list[str]) -> dict[str, Any]:
    """``evaluate_checkpoint`` keyword arguments from ``argv``; ``-h``/``--help`` prints the usage and exits 0."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE, end="")
        sys.exit(0)
    args: dict[str, Any] = {"data_overrides": []}
    for a in argv:
        key, eq, value = a.partition("=")
        if not eq:
            raise ConfigValueError(f"expected key=value, got {a!r} (e.g. checkpoint=runs/my-run); see vidzoo-test --help")
        if key.startswith("data."):
            _check_data_override(a)
            args["data_overrides"].append(a)
        elif key in _TOP_LEVEL:
            args[key] = value
        else:
            close = difflib.get_close_matches(key, _TOP_LEVEL, n=1)
            hint = f"did you mean {close[0]}?" if close else f"use one of {', '.join(_TOP_LEVEL)} or data.KEY"
            raise ConfigValueError(f"unknown argument {key!r}; {hint}")
    if not args.get("checkpoint"):
        raise ConfigValueError("checkpoint=PATH is required (a run directory or a checkpoint directory); "
                               "see vidzoo-test --help")
    if not Path(args["checkpoint"]).expanduser().exists():
        raise ConfigValueError(checkpoint_not_found(args["checkpoint"]))
    check_choice("which", args.get("which", "best"), CHECKPOINT_CHOICES)
    check_choice("precision", args.get("precision", "auto"), PRECISIONS)
    device_ok, allowed = VALUE_RULES["trainer.device"]
    if not device_ok(args.get("device", "auto")):
        raise ConfigValueError(f"device={args['device']!r} is not a device: it must be {allowed}")
    if str(args.get("progress", "true")).lower() not in _BOOLEANS:
        raise ConfigValueError(f"progress={args['progress']!r}; use progress=true or progress=false")
    return args
