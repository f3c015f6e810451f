"""Flow transforms, the flow decoder backend and the flow dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vidzoo.data.annotations import VideoRecord
from vidzoo.data.decoding import VideoDecodeError, build_decoder
from vidzoo.data.synthetic import CLASSES, FLIP_PAIRS
from vidzoo.flow import extraction as ex
from vidzoo.flow import storage
from vidzoo.flow import transforms as T
from vidzoo.flow.dataset import build_flow_dataset, stack_starts
from vidzoo.flow.plots import flow_to_rgb, save_flow_png


def test_hflip_negates_x_and_mirrors():
    flow = np.zeros((1, 2, 3, 2), np.float32)
    flow[0, 0, 0] = (1.5, -2.0)  # top-left pixel moves right and up
    out = T.hflip_flow(flow)
    assert out[0, 0, 2].tolist() == [-1.5, -2.0]  # now top-right, moving left, still up
    assert np.count_nonzero(out) == 2


def test_mean_flow_subtraction_per_field():
    flow = np.random.default_rng(0).normal(3.0, 1.0, (4, 8, 8, 2)).astype(np.float32)
    out = T.subtract_mean_flow(flow)
    assert np.abs(out.mean(axis=(1, 2))).max() < 1e-5
    assert np.allclose(out - flow, (out - flow)[:, :1, :1])  # a constant shift per field and component


def test_resize_scales_displacements():
    flow = np.tile(np.array([2.0, -1.0], np.float32), (1, 10, 20, 1))
    out = T.resize_flow(flow, (5, 40))
    assert out.shape == (1, 5, 40, 2)
    assert np.allclose(out[..., 0], 4.0) and np.allclose(out[..., 1], -0.5)


def test_same_view_for_flow_and_rgb():
    h, w = 10, 12
    rgb = np.arange(h * w * 3, dtype=np.uint8).reshape(1, h, w, 3)
    flow = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1)[None].astype(np.float32)  # value = (x, y) coord
    view = T.View(top=2, left=3, height=6, width=6, flip=True)
    f, r = T.apply_view(flow, view, True), T.apply_view(rgb, view, False)
    assert r[0, 0, 0].tolist() == rgb[0, 2, 8].tolist()  # flipped crop: first column is the crop's last
    assert f[0, 0, 0].tolist() == [-8.0, 2.0]  # same pixel, x negated
    assert [v.flip for v in T.eval_views(64, 80, 56, 10)].count(True) == 5
    with pytest.raises(ValueError, match="crop_size"):
        T.random_view(40, 40, 56, np.random.default_rng(0))


def test_stack_starts_cover_the_video():
    s = stack_starts(31, 5, 3, [0.0, 0.999])
    assert s.shape == (2, 3) and s.min() == 0 and s.max() <= 26
    assert (np.diff(s, axis=1) > 0).all()
    assert stack_starts(3, 5, 2, [0.5]).tolist() == [[0, 0]]  # short video: stacks start at 0, fields repeat


def test_plots_write_png(tmp_path: Path):
    flow = np.zeros((8, 8, 2), np.float32)
    flow[..., 0] = 1.0
    assert flow_to_rgb(flow)[0, 0].tolist() == [255, 0, 0]  # rightwards = red
    out = save_flow_png(tmp_path / "f.png", np.stack([flow, -flow]), frames=np.zeros((3, 8, 8, 3), np.uint8))
    assert out.stat().st_size > 0


@pytest.fixture(scope="module")
def flow_setup(synthetic_root: Path, tmp_path_factory) -> dict:
    from vidzoo.data.annotations import read_ucf_style_split

    flow_root = tmp_path_factory.mktemp("flow")
    train, classes = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "train")
    train = [r for r in train if CLASSES[r.label] in ("TranslateLeft", "TranslateRight", "Still")][:6]
    opts = ex.ExtractionOptions(algorithm="dis", dump_rgb=True, params={"preset": "medium"})
    ex.extract_dataset([r.path for r in train], synthetic_root / "videos", flow_root, opts, workers=0, progress=False)
    return {"records": train, "classes": classes, "flow_root": flow_root, "video_root": synthetic_root / "videos"}


def test_flow_decoder_backend(flow_setup):
    dec = build_decoder("flow", flow_root=flow_setup["flow_root"], video_root=flow_setup["video_root"])
    path = flow_setup["records"][0].path
    assert dec.num_frames(path) == 15 and dec.fps(path) == 25.0
    out = dec.decode(path, [3, 0, 3])
    assert out.shape == (3, 32, 40, 2) and out.dtype == np.float32
    assert np.array_equal(out[0], out[2])
    with pytest.raises(VideoDecodeError, match="out of range"):
        dec.decode(path, [15])
    with pytest.raises(VideoDecodeError, match="vidzoo-extract-flow"):
        dec.decode(str(Path(path).with_name("missing.avi")), [0])


def test_translation_class_flow_sign_and_flip_label(flow_setup):
    """TranslateLeft content moves left (mean x flow < 0); a flipped sample is relabelled TranslateRight."""
    classes = flow_setup["classes"]
    left = classes.index("TranslateLeft")
    rec = next(r for r in flow_setup["records"] if r.label == left)
    common = dict(flow_root=flow_setup["flow_root"], flow_length=5, resize=32, crop_size=28,
                  class_names=classes, flip_pairs=FLIP_PAIRS, mean_subtraction=False)
    ds = build_flow_dataset([rec] * 16, "train", **common)
    labels, signs = [], []
    for i in range(16):
        item = ds[i]
        assert item["inputs"].shape == (2, 5, 28, 28) and item["inputs"].dtype == torch.float32
        labels.append(classes[item["label"]])
        signs.append(float(item["inputs"][0].mean()) < 0)
    assert set(labels) == {"TranslateLeft", "TranslateRight"}  # both flipped and unflipped draws happened
    assert all((lab == "TranslateLeft") == neg for lab, neg in zip(labels, signs))


def test_fused_multiview_items_and_errors(flow_setup, tmp_path: Path):
    recs = flow_setup["records"][:2]
    common = dict(flow_root=flow_setup["flow_root"], flow_length=5, num_frames=2, resize=32, crop_size=28,
                  test_clips=2, test_crops=3, modality="rgb+flow")
    item = build_flow_dataset(recs, "test", **common)[1]
    assert item["inputs"]["rgb"].shape == (6, 3, 2, 28, 28) and item["inputs"]["flow"].shape == (6, 2, 10, 28, 28)
    # the rgb frames come from the dumped JPEGs or from the video: same pixels up to JPEG error
    from_video = build_flow_dataset(recs, "test", rgb_source="video", **common)[1]["inputs"]["rgb"]
    assert (from_video - item["inputs"]["rgb"]).abs().mean() < 0.15
    bad = VideoRecord(str(flow_setup["video_root"] / "Still" / "nope.avi"), 0)
    err = build_flow_dataset([bad], "train", **common)[0]
    assert set(err) == {"error", "index"} and "nope.avi" in err["error"]
