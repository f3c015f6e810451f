"""Importers: each source's exact keys and shapes in, a vidzoo checkpoint out, the same outputs as the source."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision

import vidzoo
from interop_references import FlatC3D, I3DHead, Recognizer3D, ResNet2Plus1d34, mmaction_c3d_keys, randomize
from vidzoo.engine.checkpoint import load_weights
from vidzoo.interop import import_weights
from vidzoo.interop.cli import import_weights_main
from vidzoo.interop.reading import WeightsImportError


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18"])
def test_torchvision_pth_imports_with_equal_outputs(tmp_path, name):
    ref = randomize(getattr(torchvision.models.video, name)(num_classes=7), seed=1)
    torch.save(ref.state_dict(), tmp_path / f"{name}.pth")
    out = import_weights("torchvision", tmp_path / f"{name}.pth", tmp_path / "imported")
    model, classes, prep = vidzoo.load_model(out)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["model"] == {"name": name, "kwargs": {}, "num_classes": 7} and classes == []
    assert prep["crop_size"] == 112 and prep["num_frames"] == 16 and prep["mean"][0] == pytest.approx(0.43216)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=0, atol=0)


@pytest.fixture(scope="module")
def c3d_sports1m(tmp_path_factory):
    """A full-size ``c3d.pickle``-shaped file (random weights) and the reference network holding them."""
    ref = randomize(FlatC3D(), seed=2)
    path = tmp_path_factory.mktemp("c3d") / "c3d.pickle"
    torch.save(ref.state_dict(), path)
    return ref, path


def test_c3d_pickle_classifies_like_the_reference_layout(tmp_path, c3d_sports1m):
    ref, path = c3d_sports1m
    out = import_weights("c3d-pickle", path, tmp_path / "c3d")
    model, _, prep = vidzoo.load_model(out)
    assert prep["channel_order"] == "bgr" and prep["num_frames"] == 16 and prep["crop_size"] == 112
    assert prep["std"] == [pytest.approx(1 / 255)] * 3  # raw 0-255 input, as the port feeds it
    x = torch.rand(2, 3, 16, 112, 112) * 255
    with torch.no_grad():
        expected, got = ref(x), model(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert torch.equal(got.argmax(1), expected.argmax(1))


def test_mmaction2_c3d_maps_every_tensor_like_the_port(tmp_path, c3d_sports1m):
    ref, path = c3d_sports1m
    mm = {"meta": {"mmaction_version": "1.2.0", "epoch": 45},
          "state_dict": {mmaction_c3d_keys(k): v for k, v in ref.state_dict().items()}}
    torch.save(mm, tmp_path / "c3d_mm.pth")
    from_mm = import_weights("mmaction2", tmp_path / "c3d_mm.pth", tmp_path / "mm")
    from_port = import_weights("c3d-pickle", path, tmp_path / "port")
    a, b = load_weights(from_mm), load_weights(from_port)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    prep = json.loads((from_mm / "meta.json").read_text())["preprocessing"]
    assert [round(m * 255) for m in prep["mean"]] == [104, 117, 128] and prep["channel_order"] == "rgb"


def test_mmaction2_c3d_backbone_only_needs_num_classes(tmp_path, c3d_sports1m):
    ref, _ = c3d_sports1m
    backbone = {mmaction_c3d_keys(k)[len("backbone."):]: v for k, v in ref.state_dict().items() if "fc8" not in k}
    torch.save({"state_dict": backbone}, tmp_path / "pretrain.pth")
    with pytest.raises(WeightsImportError, match="num_classes"):
        import_weights("mmaction2", tmp_path / "pretrain.pth", tmp_path / "a")
    out = import_weights("mmaction2", tmp_path / "pretrain.pth", tmp_path / "b", num_classes=101)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["model"]["num_classes"] == 101 and meta["imported_from"]["classifier"] == "initialised"
    weights = load_weights(out)
    assert torch.equal(weights["features.conv5b.0.weight"], ref.conv5b.weight)


def test_mmaction2_r2plus1d_34_outputs_equal(tmp_path):
    ref = randomize(Recognizer3D(ResNet2Plus1d34(), I3DHead(512, 400)), seed=3)
    torch.save({"meta": {"epoch": 180}, "state_dict": ref.state_dict()}, tmp_path / "r2plus1d_34.pth")
    out = import_weights("mmaction2", tmp_path / "r2plus1d_34.pth", tmp_path / "r21d")
    model, _, prep = vidzoo.load_model(out)
    assert (prep["num_frames"], prep["stride"], prep["crop_size"]) == (8, 8, 224)
    x = torch.randn(1, 3, 8, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-4)


def test_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"conv1.weight": torch.zeros(1), "evil": Payload()}, tmp_path / "c3d.pickle")
    with pytest.raises(WeightsImportError, match=r"refused: .*io\.open"):
        import_weights("c3d-pickle", tmp_path / "c3d.pickle", tmp_path / "out")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_first_unmatched_key_and_shape_are_named(tmp_path, c3d_sports1m):
    torch.save({**c3d_sports1m[0].state_dict(), "conv6.weight": torch.zeros(1)}, tmp_path / "extra.pickle")
    with pytest.raises(WeightsImportError, match=r"key 'conv6.weight' has no counterpart"):
        import_weights("c3d-pickle", tmp_path / "extra.pickle", tmp_path / "a")
    tv = torchvision.models.video.mc3_18(num_classes=3).state_dict()
    torch.save(tv, tmp_path / "mc3.pth")
    with pytest.raises(WeightsImportError, match=r"key 'stem.0.weight' has no counterpart"):
        import_weights("c3d-pickle", tmp_path / "mc3.pth", tmp_path / "b")
    torch.save({**tv, "layer1.0.conv1.1.bias": torch.zeros(10)}, tmp_path / "shape.pth")
    with pytest.raises(WeightsImportError, match=r"'layer1.0.conv1.1.bias' has shape \(10,\) but mc3_18.layer1.0.conv1.1.bias "
                       r"needs \(64,\)"):
        import_weights("torchvision", tmp_path / "shape.pth", tmp_path / "c")
    del tv["layer4.1.conv2.1.running_var"]
    torch.save(tv, tmp_path / "short.pth")
    with pytest.raises(WeightsImportError, match=r"no tensor for mc3_18.layer4.1.conv2.1.running_var"):
        import_weights("torchvision", tmp_path / "short.pth", tmp_path / "d")


def test_pytorchvideo_architecture_is_named_when_the_zoo_has_none(tmp_path):
    from pytorchvideo.models.resnet import create_resnet

    net = create_resnet(model_depth=50, model_num_class=4, stem_conv_kernel_size=(1, 7, 7), head_pool_kernel_size=(1, 1, 1))
    torch.save({"model_state": net.state_dict()}, tmp_path / "SLOW_8x8_R50.pyth")
    with pytest.raises(WeightsImportError, match=r"pytorchvideo: key 'blocks\.1\.res_blocks\.0\.branch2\.conv_b"):
        import_weights("pytorchvideo", tmp_path / "SLOW_8x8_R50.pyth", tmp_path / "out")


def test_cli_reports_one_line_and_refuses_existing_output(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    torch.save(torchvision.models.video.mc3_18(num_classes=2).state_dict(), tmp_path / "mc3.pth")
    argv = ["torchvision", str(tmp_path / "mc3.pth"), "--output"]
    with pytest.raises(SystemExit) as exit_info:
        import_weights_main([*argv, str(tmp_path / "taken")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "taken already exists" in err
    import_weights_main([*argv, str(tmp_path / "new"), "--class-names", "a,b"])
    assert vidzoo.load_model(tmp_path / "new").class_names == ["a", "b"]
