"""ONNX export: every registered small model either matches onnxruntime to 1e-4 or is listed as not exportable."""

from __future__ import annotations

import json

import onnx
import onnxruntime as ort
import pytest
import torch

import vidzoo
from vidzoo.engine.checkpoint import save_checkpoint
from vidzoo.interop.cli import export_main
from vidzoo.interop.export import NOT_EXPORTABLE, ExportError, example_inputs, export_model, run_model

SMALL = vidzoo.list_models("*_small")


def _blocked(name: str) -> str | None:
    return next((family for family in NOT_EXPORTABLE if name.startswith(family)), None)


@pytest.mark.parametrize("name", SMALL)
def test_onnxruntime_matches_pytorch_or_model_is_listed(name):
    torch.manual_seed(0)
    model = vidzoo.build_model(name, num_classes=5).eval()
    if _blocked(name):
        with pytest.raises(ExportError, match="cannot be exported to ONNX"):
            export_model(model, example_inputs(name, {}))
        return
    session = ort.InferenceSession(export_model(model, example_inputs(name, {})), providers=["CPUExecutionProvider"])
    batch = example_inputs(name, {}, batch=3)  # exported with batch 1: the batch axis is dynamic
    got = session.run(None, {k: v.numpy() for k, v in batch.items()})[0]
    with torch.no_grad():
        expected = run_model(model, batch)
    torch.testing.assert_close(torch.from_numpy(got), expected, rtol=1e-4, atol=1e-4)


def test_cli_exports_checkpoint_with_its_shapes_and_metadata(tmp_path, capsys):
    model = vidzoo.build_model("r3d_small", num_classes=3)
    prep = {"mean": [0.5] * 3, "std": [0.25] * 3, "crop_size": 48, "num_frames": 6, "resize": 56}
    meta = {"model": {"name": "r3d_small", "kwargs": {}, "num_classes": 3}, "class_names": ["a", "b", "c"],
            "preprocessing": prep}
    ckpt = save_checkpoint(tmp_path / "ckpt", model.state_dict(), meta)
    out = tmp_path / "r3d.onnx"
    export_main([f"checkpoint={ckpt}", "format=onnx", f"output={out}", "opset=18"])
    graph = onnx.load(str(out))
    assert graph.opset_import[0].version == 18
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert [graph.graph.input[0].name, *dims] == ["rgb", "batch", 3, 6, 48, 48]
    props = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(props["vidzoo.class_names"]) == ["a", "b", "c"]
    assert json.loads(props["vidzoo.preprocessing"])["crop_size"] == 48 and props["vidzoo.model"] == "r3d_small"
    size = out.stat().st_size
    for argv, message in (([f"output={out}"], "already exists"), (["format=tflite"], "format=onnx"),
                          (["opset=13"], "opset >= 17")):
        with pytest.raises(SystemExit) as exit_info:
            export_main([f"checkpoint={ckpt}", *argv])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and message in err
    assert out.stat().st_size == size
