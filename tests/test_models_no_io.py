"""Models know nothing of files or the engine: weights reach them as state dicts, read by the engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

MODELS = Path(__file__).resolve().parents[1] / "vidzoo" / "models"
#: Modules whose import would let a model read files or reach the trainer.
FORBIDDEN_MODULES = ("vidzoo.engine", "vidzoo.files", "vidzoo.interop", "pathlib", "os", "io", "pickle",
                     "safetensors", "shutil", "glob")
#: Calls that read or write files.
FORBIDDEN_CALLS = ("open", "load", "load_file", "save", "save_file", "read_text", "read_bytes", "Path")


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
                found.append(f"{path.name}:{node.lineno} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {called}()")
    return found


def test_model_modules_import_no_engine_and_open_no_files():
    files = sorted(MODELS.glob("*.py"))
    assert len(files) > 10
    assert [v for f in files for v in _violations(f)] == []


def test_the_checker_catches_file_reading(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("from vidzoo.engine.checkpoint import resolve_checkpoint\nimport torch\nw = torch.load('x.pth')\n"
                   "text = open('y').read()\n")
    assert [v.split(" ", 1)[1] for v in _violations(bad)] == [
        "imports vidzoo.engine.checkpoint", "calls load()", "calls open()"]


def test_engine_reads_weight_paths_into_state_dicts(tmp_path: Path):
    """``model.kwargs.*_weights`` paths (a .safetensors file, a checkpoint folder, a .pth file) become tensors
    before the builder runs; a missing path is a one-line config error."""
    from vidzoo.engine.experiment import build_model_from_config
    from vidzoo.engine.model_weights import read_weight_kwargs
    from vidzoo.errors import ConfigValueError
    from vidzoo.models import build_model

    torch.manual_seed(0)
    encoder = build_model("cnn_lstm_encoder_small", 9)
    state = {k: v.contiguous() for k, v in encoder.state_dict().items()}
    (tmp_path / "ckpt").mkdir()
    save_file(state, str(tmp_path / "ckpt" / "model.safetensors"))
    save_file(state, str(tmp_path / "enc.safetensors"))
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "enc.pth")
    for path in ("ckpt", "enc.safetensors", "enc.pth"):
        kwargs = read_weight_kwargs({"encoder_weights": str(tmp_path / path), "readout": "last"})
        assert kwargs["readout"] == "last" and set(kwargs["encoder_weights"]) == set(state), path
        assert all(torch.equal(kwargs["encoder_weights"][k], v) for k, v in state.items())
    model = build_model_from_config("cnn_lstm_small", {"encoder_weights": str(tmp_path / "ckpt")}, 9)
    assert torch.equal(model.encoder.c1[0].weight, encoder.encoder.c1[0].weight) and model.freeze_encoder
    with pytest.raises(ConfigValueError, match="encoder_weights=.*nothere.* does not exist"):
        read_weight_kwargs({"encoder_weights": str(tmp_path / "nothere")})
    with pytest.raises(ConfigValueError, match="model.kwargs of 'cnn_lstm': encoder_weights do not fit"):
        build_model_from_config("cnn_lstm", {"encoder_weights": str(tmp_path / "ckpt")}, 6)
