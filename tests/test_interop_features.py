"""Feature extraction: the C3D protocol on a c3d_small trained through the real trainer; resume, shards, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import vidzoo
from training_helpers import make_train_set, overrides
from vidzoo.cli import compose_or_explain
from vidzoo.engine.checkpoint import save_checkpoint
from vidzoo.engine.experiment import build_trainer
from vidzoo.interop.cli import extract_features_main
from vidzoo.interop.features import FeatureOptions, clip_indices, extract_features, video_clips


def test_clip_indices_follow_the_c3d_protocol():
    assert [c[0] for c in clip_indices(40, 16, 1, 8)] == [0, 8, 16, 24]
    assert clip_indices(40, 16, 1, 8)[-1][-1] == 39
    assert clip_indices(20, 4, 2, 8) == [[0, 2, 4, 6], [8, 10, 12, 14]]
    assert clip_indices(5, 8, 1, 8) == [[0, 1, 2, 3, 4, 0, 1, 2]]  # shorter than one clip: loops


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return make_train_set(tmp_path_factory.mktemp("features"))


@pytest.fixture(scope="module")
def trained(synthetic_root, tmp_path_factory):
    """A c3d_small trained by the shared trainer on the small synthetic-motions set (20 epochs of 7 steps, one
    evaluation at the end), and that set."""
    run = tmp_path_factory.mktemp("features-run") / "run"
    args = overrides(synthetic_root, run, "trainer.epochs=20", "trainer.eval_every=100")
    build_trainer(compose_or_explain(args)).fit()
    return run, synthetic_root


def _split(root: Path, name: str) -> list[Path]:
    lines = (root / "splits" / name).read_text().splitlines()
    return [root / "videos" / ln.split()[0] for ln in lines if ln.strip()]


def _logistic_regression(x: torch.Tensor, y: torch.Tensor, classes: int, steps: int = 300) -> torch.nn.Linear:
    torch.manual_seed(0)
    clf = torch.nn.Linear(x.shape[1], classes)
    opt = torch.optim.LBFGS(clf.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(clf(x), y) + 1e-4 * clf.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    return clf


@pytest.mark.slow
def test_fc6_features_are_linearly_separable_and_a_killed_run_resumes(trained, tmp_path):
    run, root = trained
    videos = sorted(_split(root, "trainlist01.txt") + _split(root, "testlist01.txt"))
    out = tmp_path / "fc6"
    options = FeatureOptions(layer="fc6", step=8, progress=False)
    first = extract_features(run, videos[:40], root / "videos", out, options)  # a run stopped after 40 videos
    assert first.done == 40 and first.clips == 40 * 2  # 24 frames, 8-frame clips at stride 2 start at 0 and 8
    done = sorted(out.rglob("*.npy"))
    stamps = {p: p.stat().st_mtime_ns for p in done}
    pending = out / videos[50].relative_to(root / "videos").with_suffix(".npy")
    pending.parent.mkdir(parents=True, exist_ok=True)
    (pending.parent / f".{pending.name}.tmp-999-0123abcd").write_bytes(b"half")  # what a kill mid-write leaves

    second = extract_features(run, videos, root / "videos", out, options)
    assert (second.skipped, second.done, second.failed) == (40, len(videos) - 40, [])
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items()) and not list(out.rglob(".*.tmp-*"))

    classes = sorted({v.parent.name for v in videos})

    def load(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        vids = _split(root, split)
        feats = [np.load(out / v.relative_to(root / "videos").with_suffix(".npy")) for v in vids]
        return torch.from_numpy(np.stack(feats)), torch.tensor([classes.index(v.parent.name) for v in vids])

    x_train, y_train = load("trainlist01.txt")
    x_test, y_test = load("testlist01.txt")
    assert x_train.shape[1] == 256 and torch.allclose(x_train.norm(dim=1), torch.ones(len(x_train)), atol=1e-5)
    clf = _logistic_regression(x_train, y_train, len(classes))
    accuracy = (clf(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy >= 0.9, accuracy


def test_cli_shards_and_reports_bad_input_in_one_line(synthetic_root, tmp_path, capsys):
    """The command line on an untrained c3d_small checkpoint (what the features mean is the test above's)."""
    root = synthetic_root
    prep = {"mean": [0.45, 0.45, 0.45], "std": [0.225, 0.225, 0.225], "resize": 64, "crop_size": 56, "num_frames": 8,
            "stride": 2}
    run = save_checkpoint(tmp_path / "c3d", vidzoo.build_model("c3d_small", num_classes=9).state_dict(),
                          {"model": {"name": "c3d_small", "kwargs": {}, "num_classes": 9}, "class_names": [],
                           "preprocessing": prep})
    base = [f"checkpoint={run}", f"data={root / 'videos'}", f"list={root / 'splits' / 'testlist01.txt'}",
            "progress=false", "layer=fc7"]
    with pytest.raises(SystemExit) as exit_info:
        extract_features_main([*base, f"output={tmp_path / 'a'}", "shard=1/2"])
    assert exit_info.value.code == 0
    assert len(list((tmp_path / "a").rglob("*.npy"))) == len(_split(root, "testlist01.txt")) // 2
    for argv, message in ((["layer=fc9"], "is not a module of C3D; did you mean"), (["shard=2/2"], "0 <= i < N"),
                          (["step=0"], "step='0' must be a whole number"), (["lyer=fc6"], "unknown argument")):
        with pytest.raises(SystemExit) as exit_info:
            extract_features_main([*base, f"output={tmp_path / 'b'}", *argv])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and message in err, err
    os.makedirs(tmp_path / "c")
    extract_features(run, _split(root, "testlist01.txt")[:1], root / "videos", tmp_path / "c", FeatureOptions(
        layer="fc7", progress=False))
    with pytest.raises(SystemExit):
        extract_features_main([*base[:-1], "layer=fc6", f"output={tmp_path / 'c'}"])
    assert "layer='fc7', not 'fc6'" in capsys.readouterr().err


def test_any_layer_of_another_family_and_bgr_channel_order(synthetic_root, tmp_path):
    root = synthetic_root
    model = vidzoo.build_model("r3d_small", num_classes=9).eval()
    prep = {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3], "resize": 64, "crop_size": 56, "num_frames": 8,
            "stride": 1}
    meta = {"model": {"name": "r3d_small", "kwargs": {}, "num_classes": 9}, "class_names": [], "preprocessing": prep}
    video = _split(root, "testlist01.txt")[0]
    outputs = {}
    for order in ("rgb", "bgr"):
        ckpt = save_checkpoint(tmp_path / order, model.state_dict(),
                               {**meta, "preprocessing": {**prep, "channel_order": order}})
        extract_features(ckpt, [video], root / "videos", tmp_path / f"out-{order}",
                         FeatureOptions(layer="layer4", progress=False))
        outputs[order] = np.load(tmp_path / f"out-{order}" / video.relative_to(root / "videos").with_suffix(".npy"))
    clips = video_clips(video, prep, step=8)  # 24 frames: clips at 0, 8, 16
    with torch.no_grad():
        maps = model.layer4(model.layer3(model.layer2(model.layer1(model.stem(clips)))))
    expected = maps.flatten(1).mean(0)
    np.testing.assert_allclose(outputs["rgb"], (expected / expected.norm()).numpy(), rtol=1e-4, atol=1e-6)
    assert outputs["rgb"].shape == (128 * 1 * 4 * 4,) and not np.allclose(outputs["rgb"], outputs["bgr"])
