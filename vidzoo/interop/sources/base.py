"""What an importer decides about a file: the zoo model to build, its key map and the preprocessing it expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from vidzoo.interop.keymap import KeyMap
from vidzoo.interop.reading import WeightsImportError


@dataclass(frozen=True)
class ImportPlan:
    """How one source file becomes a zoo checkpoint.

    ``head`` names the zoo keys of the classifier: a file without them (a pre-training backbone) imports only
    when the caller gives ``num_classes``, and the classifier keeps its fresh initialisation.
    """

    model: str
    rules: KeyMap
    head: tuple[str, str]
    preprocessing: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


def preprocessing(
    mean: Sequence[float], std: Sequence[float], *, scale: float, resize: int, crop_size: int, num_frames: int,
    stride: int, channel_order: str = "rgb", **notes: Any,
) -> dict[str, Any]:
    """The ``meta.json`` preprocessing entry, with ``mean``/``std`` given in units of ``scale`` (1 or 255).

    Stored as the zoo stores its own: pixels divided by 255, then ``(x - mean) / std``; ``channel_order``
    says whether the first input channel is red (``"rgb"``) or blue (``"bgr"``, Caffe ports).
    """
    return {
        "mean": [m / scale for m in mean], "std": [s / scale for s in std], "resize": resize, "crop_size": crop_size,
        "num_frames": num_frames, "stride": stride, "modality": "rgb", "normalized": True,
        "channel_order": channel_order, **notes,
    }


def check_model_choice(requested: str | None, detected: str, choices: Sequence[str], source: str) -> str:
    """The model to build: ``detected`` from the file's keys, unless the caller asked for another one it allows."""
    if requested is None or requested == detected:
        return detected
    if requested not in choices:
        raise WeightsImportError(f"source {source!r} imports into {', '.join(choices)}, not {requested!r}; "
                                 f"drop model= (the file looks like {detected})")
    return requested
