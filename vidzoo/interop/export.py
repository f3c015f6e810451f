"""ONNX export of a zoo checkpoint: fixed ``T, H, W`` from its preprocessing, a dynamic batch axis.

The graph is traced with PyTorch's TorchScript exporter (``torch.onnx.export(dynamo=False)``, no extra
dependency), then checked with ``onnx.checker`` and given the checkpoint's model name, class names and
preprocessing as ``metadata_props`` (``vidzoo.model``, ``vidzoo.class_names``, ``vidzoo.preprocessing``, JSON),
so a runtime needs nothing but the ``.onnx`` file. Inputs are named after the modalities the model reads
(``rgb`` ``(B, 3, T, H, W)``, ``flow`` ``(B, 2, L, H, W)``); the output is ``logits`` ``(B, num_classes)``.
Two-stream fusion models, which take a dict, are exported with one input per modality.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.model_loading import load_model
from vidzoo.errors import ConfigValueError
from vidzoo.files import atomic_write_bytes
from vidzoo.models.registry import get_model_info

MIN_OPSET = 17
#: Registered families the TorchScript ONNX exporter cannot express, and why (a test keeps this list true).
NOT_EXPORTABLE = {
    "conv_grbm": "adaptive pooling of the feature maps after a batch-dependent reshape (frame pairs), whose input "
                 "size the exporter cannot see",
    "isa": "adaptive pooling of the feature maps after a batch-dependent reshape (video blocks), whose input size "
           "the exporter cannot see",
    "cnn_lstm": "adaptive pooling whose output size follows the traced time axis (aten::adaptive_avg_pool3d "
                "with a non-constant output_size)",
    "fstcn": "adaptive pooling after a batch-dependent reshape, whose input size the exporter cannot see",
    "ji3d": "its hardwired layer uses torch.gradient (aten::gradient), which has no ONNX operator",
}


class ExportError(ConfigValueError):
    """The export cannot run as asked (opset, output path, input shapes); the message says what to change."""


class _PositionalInputs(nn.Module):
    """Presents a dict-input model (``{"rgb": ..., "flow": ...}``) as one positional input per modality."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.model(dict(zip(self.names, inputs)))


def example_inputs(model_name: str, preprocessing: dict[str, Any], batch: int = 1) -> dict[str, Tensor]:
    """Random inputs of the shape the checkpoint was trained on, one per modality, ``(batch, C, T, H, W)``.

    ``H, W`` come from ``preprocessing["crop_size"]``; ``T`` from ``preprocessing["num_frames"]`` for a
    single-input model and from the registry's native shape for each stream of a two-stream model.
    """
    info = get_model_info(model_name)
    shapes = {info.inputs[0]: tuple(info.input_shape)}
    if len(info.inputs) > 1:
        shapes[info.inputs[1]] = tuple(info.extra[f"{info.inputs[1]}_shape"])
    crop = preprocessing.get("crop_size")
    frames = preprocessing.get("num_frames") if len(shapes) == 1 else None
    out = {}
    for name, (c, t, h, w) in shapes.items():
        shape = (batch, c, int(frames or t), int(crop or h), int(crop or w))
        out[name] = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    return out


def run_model(model: nn.Module, inputs: dict[str, Tensor]) -> Tensor:
    """``model`` on ``inputs`` as it takes them: the tensor itself for one modality, the dict for two."""
    return model(next(iter(inputs.values()))) if len(inputs) == 1 else model(inputs)


def export_model(model: nn.Module, inputs: dict[str, Tensor], opset: int = MIN_OPSET) -> bytes:
    """Trace ``model`` (eval mode) on ``inputs`` into ONNX bytes with a dynamic batch axis on every input and output."""
    if opset < MIN_OPSET:
        raise ExportError(f"opset={opset} is too old; use opset >= {MIN_OPSET}")
    names = tuple(inputs)
    module = model if len(names) == 1 else _PositionalInputs(model, names)
    buffer = io.BytesIO()
    dynamic = {n: {0: "batch"} for n in (*names, "logits")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on the models' input-shape checks, fixed by design
        try:
            torch.onnx.export(module.eval(), tuple(inputs.values()), buffer, dynamo=False, opset_version=opset,
                              input_names=list(names), output_names=["logits"], dynamic_axes=dynamic)
        except torch.onnx.errors.OnnxExporterError as exc:
            reason = str(exc).splitlines()[0].split(". Please")[0]
            raise ExportError(f"{type(model).__name__} cannot be exported to ONNX: {reason}") from None
    return buffer.getvalue()


def export_checkpoint(checkpoint: str | Path, output: str | Path | None = None, opset: int = MIN_OPSET,
                      which: str = "best") -> Path:
    """Export the checkpoint at ``checkpoint`` to ONNX file ``output`` (default ``./<model name>.onnx``).

    ``output`` must not exist (an export never replaces a file it did not write).
    """
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package: pip install 'vidzoo[export]'") from None
    if opset < MIN_OPSET:
        raise ExportError(f"opset={opset} is too old; use opset >= {MIN_OPSET}")
    ckpt_dir = ckpt.resolve_checkpoint(checkpoint, which)
    meta = ckpt.read_meta(ckpt_dir)
    model, class_names, prep = load_model(ckpt_dir)
    name = meta["model"]["name"]
    path = Path(output if output is not None else f"{name}.onnx").expanduser()
    if path.exists():
        raise ExportError(f"output {path} already exists; pass output= a new file")
    if not path.parent.is_dir():
        raise ExportError(f"output folder {path.parent} does not exist; create it or pass another output=")
    inputs = example_inputs(name, prep)
    try:
        with torch.no_grad():
            run_model(model, inputs)
    except (RuntimeError, ValueError) as exc:
        shapes = {k: tuple(v.shape) for k, v in inputs.items()}
        raise ExportError(f"{ckpt_dir}: model {name} does not run on {shapes} from its preprocessing "
                          f"({str(exc).splitlines()[0]}); fix crop_size/num_frames in meta.json") from None
    graph = onnx.load_from_string(export_model(model, inputs, opset))
    for key, value in (("vidzoo.model", name), ("vidzoo.class_names", json.dumps(class_names)),
                       ("vidzoo.preprocessing", json.dumps(prep))):
        graph.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(graph)
    atomic_write_bytes(path, graph.SerializeToString(), replace=False, fix="pass output= a new file")
    return path
