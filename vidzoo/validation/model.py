"""``model.name`` and ``model.kwargs``: a registered builder and the keyword arguments it takes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidzoo.errors import ConfigValueError


def _accepted_keys(builder: Callable[..., Any], callee: str | None) -> list[str]:
    """The builder's named arguments plus, when it forwards ``**kwargs``, those of the callee a TypeError named."""
    params = [p for p in inspect.signature(builder).parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    names = [p.name for p in params]
    target = getattr(inspect.getmodule(builder), (callee or "").split(".")[0], None)
    if callable(target):
        names += [p.name for p in inspect.signature(target).parameters.values()
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names]
    return [n for n in names if n not in ("self", "num_classes")]


def _dry_build(name: str, builder: Callable[..., Any], kwargs: dict[str, Any], check_files: bool = True) -> None:
    """Call the builder on the meta device (no memory, no weights): a misspelt key or a bad value fails here,
    before any run folder exists. Builders handed a weights file are left to the real build."""
    import re

    import torch

    weights = {k: v for k, v in kwargs.items() if k.endswith("_weights") and isinstance(v, str)}
    for key, path in weights.items() if check_files else ():
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


def check_model(name: str, kwargs: dict[str, Any], *, check_files: bool = True) -> None:
    """``model.name`` is registered and ``model.kwargs`` build it (names and values, checked on the meta device);
    with ``check_files``, the ``*_weights`` files it names exist (a stage-2 recipe may name a run still to come)."""
    from vidzoo.models.registry import UnknownModelError, get_model_info

    try:
        info = get_model_info(name)
    except UnknownModelError as exc:
        raise ConfigValueError(f"model.name: {exc}") from None
    if "num_classes" in kwargs:
        raise ConfigValueError("+model.kwargs.num_classes: the number of classes is set from the dataset's classes; remove it")
    params = inspect.signature(info.builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(k for k in kwargs if k not in params)
        if unknown:
            raise ConfigValueError(f"model {name!r} has no argument {unknown[0]!r} (+model.kwargs.{unknown[0]}); "
                                   f"accepted: {', '.join(_accepted_keys(info.builder, None))}")
    if kwargs:
        _dry_build(name, info.builder, kwargs, check_files)
