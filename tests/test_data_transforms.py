"""Clip transforms: layout, crops applied alike to all frames, label-swapping flips, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidzoo.data.transforms import (
    KINETICS_MEAN,
    KINETICS_STD,
    CenterCrop,
    ClipTransform,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomTimeReversal,
    ResizeShortSide,
    ThreeCrop,
    eval_transform,
    flip_map_from_pairs,
    normalize_batch,
    train_transform,
)


def ramp_clip(t: int = 4, h: int = 24, w: int = 32) -> np.ndarray:
    """uint8 (T, H, W, 3): value = x + 40 t in channel 0, y in channel 1, 7 in channel 2."""
    clip = np.zeros((t, h, w, 3), np.uint8)
    clip[..., 0] = np.arange(w)[None, None, :] + 40 * np.arange(t)[:, None, None]
    clip[..., 1] = np.arange(h)[None, :, None]
    clip[..., 2] = 7
    return clip


def test_train_layout_and_dtype():
    out = train_transform(16, 12)(ramp_clip(), np.random.default_rng(0))
    assert out.shape == (3, 4, 12, 12) and out.dtype == torch.float32
    raw = train_transform(16, 12, output_uint8=True)(ramp_clip(), np.random.default_rng(0))
    assert raw.shape == (3, 4, 12, 12) and raw.dtype == torch.uint8


def test_resize_short_side_keeps_aspect():
    out = eval_transform(12, 12, output_uint8=True)(ramp_clip(h=24, w=32))
    assert out.shape == (3, 4, 12, 12)
    from vidzoo.data.transforms import ResizeShortSide

    op = ClipTransform([ResizeShortSide(12)])
    assert op(ramp_clip(h=24, w=32)).shape == (3, 4, 12, 16)


def test_random_crop_is_one_draw_for_all_frames():
    crop = ClipTransform([RandomCrop(10)])
    seen = set()
    for seed in range(30):
        out = crop(ramp_clip(), np.random.default_rng(seed)).numpy()  # (3, T, 10, 10)
        x0, y0 = int(out[0, 0, 0, 0]), int(out[1, 0, 0, 0])
        seen.add((x0, y0))
        for t in range(4):  # same window in every frame
            assert out[0, t, 0, 0] == x0 + 40 * t and out[1, t, 0, 0] == y0
        assert 0 <= x0 <= 32 - 10 and 0 <= y0 <= 24 - 10
    assert len(seen) > 10
    a = crop(ramp_clip(), np.random.default_rng(3))
    assert torch.equal(a, crop(ramp_clip(), np.random.default_rng(3)))


def test_center_and_three_crop():
    centre = ClipTransform([CenterCrop(10)])(ramp_clip()).numpy()
    assert centre[0, 0, 0, 0] == 11 and centre[1, 0, 0, 0] == 7
    three = ClipTransform([ThreeCrop(10)])(ramp_clip()).numpy()
    assert three.shape == (3, 3, 4, 10, 10)  # (crops, C, T, H, W)
    assert [int(three[k, 0, 0, 0, 0]) for k in range(3)] == [0, 11, 22]  # left, centre, right
    views = ClipTransform([ThreeCrop(10)])(np.stack([ramp_clip(), ramp_clip()]))
    assert views.shape == (6, 3, 4, 10, 10)
    tall = ClipTransform([ThreeCrop(10)])(ramp_clip(h=32, w=24)).numpy()
    assert [int(tall[k, 1, 0, 0, 0]) for k in range(3)] == [0, 11, 22]  # top, centre, bottom


def test_flip_swaps_paired_labels():
    names = ["Still", "TranslateLeft", "TranslateRight", "RotateCW", "RotateCCW"]
    flip_map = flip_map_from_pairs(names, [("TranslateLeft", "TranslateRight"), ("RotateCW", "RotateCCW")])
    assert flip_map == [0, 2, 1, 4, 3]
    always = ClipTransform([RandomHorizontalFlip(p=1.0, flip_map=flip_map)])
    out, label = always.apply(ramp_clip(), np.random.default_rng(0), label=1)
    assert label == 2
    assert out[0, 0, 0, 0] == 31 and out[0, 0, 0, -1] == 0  # mirrored
    assert always.apply(ramp_clip(), np.random.default_rng(0), label=0)[1] == 0
    assert always.apply(ramp_clip(), np.random.default_rng(0), label=4)[1] == 3
    never = ClipTransform([RandomHorizontalFlip(p=0.0, flip_map=flip_map)])
    assert never.apply(ramp_clip(), np.random.default_rng(0), label=1)[1] == 1


def test_flip_without_pairs_flips_freely():
    assert flip_map_from_pairs(["a", "b"], None) is None
    t = ClipTransform([RandomHorizontalFlip(p=0.5)])
    flipped = 0
    for seed in range(40):
        out, label = t.apply(ramp_clip(), np.random.default_rng(seed), label=1)
        assert label == 1
        flipped += int(out[0, 0, 0, 0] == 31)
    assert 5 < flipped < 35


def test_flip_pair_with_unknown_class():
    with pytest.raises(KeyError, match="'Left'"):
        flip_map_from_pairs(["Right"], [("Left", "Right")])


def test_normalisation_values_and_gpu_path_agree():
    clip = np.full((2, 8, 8, 3), 128, np.uint8)
    out = eval_transform(8, 8)(clip)
    expected = (128 / 255 - torch.tensor(KINETICS_MEAN)) / torch.tensor(KINETICS_STD)
    torch.testing.assert_close(out[:, 0, 0, 0], expected)
    raw = eval_transform(8, 8, output_uint8=True)(ramp_clip(t=2, h=8, w=8))
    torch.testing.assert_close(normalize_batch(raw[None])[0], eval_transform(8, 8)(ramp_clip(t=2, h=8, w=8)))
    views = torch.stack([raw, raw])[None]  # (B, V, C, T, H, W)
    assert normalize_batch(views).shape == views.shape
    with pytest.raises(ValueError, match="channels"):
        normalize_batch(torch.zeros(1, 2, 2, 4, 4, dtype=torch.uint8))


def test_errors():
    with pytest.raises(ValueError, match="larger than the frames"):
        ClipTransform([RandomCrop(40)])(ramp_clip(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="num_crops"):
        eval_transform(8, 8, num_crops=4)
    with pytest.raises(ValueError, match="expected a clip"):
        ClipTransform([])(np.zeros((4, 4, 3), np.uint8))


def test_time_reversal_plays_backwards_and_swaps_labels():
    reverse_map = flip_map_from_pairs(["Still", "ZoomIn", "ZoomOut"], [("ZoomIn", "ZoomOut")])
    always = ClipTransform([RandomTimeReversal(1.0, reverse_map)])
    out, label = always.apply(ramp_clip(), np.random.default_rng(0), label=1)
    assert label == 2
    assert [int(out[0, t, 0, 0]) for t in range(4)] == [120, 80, 40, 0]  # channel 0 = x + 40 t, reversed in t
    assert always.apply(ramp_clip(), np.random.default_rng(0), label=0)[1] == 0
    never = ClipTransform([RandomTimeReversal(0.0, reverse_map)])
    out, label = never.apply(ramp_clip(), np.random.default_rng(0), label=1)
    assert label == 1 and int(out[0, 3, 0, 0]) == 120
    flips = [ClipTransform([RandomTimeReversal(0.5, reverse_map)]).apply(ramp_clip(), np.random.default_rng(s),
                                                                            label=1)[1] for s in range(40)]
    assert 8 < flips.count(2) < 32  # about half


def test_train_transform_reverses_only_with_a_map():
    assert not any(isinstance(op, RandomTimeReversal) for op in train_transform(32, 28).ops)
    ops = train_transform(32, 28, reverse_map=[0, 2, 1]).ops
    assert isinstance(ops[3], RandomTimeReversal) and ops[3].reverse_map == [0, 2, 1]


def _flow_ramp(t: int = 2, h: int = 24, w: int = 32) -> np.ndarray:
    """Flow whose x channel is the pixel's column and y its row (plus a constant 0.5 y motion)."""
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
    return np.broadcast_to(np.stack([xs, ys + 0.5], -1), (t, h, w, 2)).copy()


def test_one_draw_crops_and_flips_rgb_and_flow_together():
    """A sample's modalities share one crop box and one flip; the flip negates flow x and mirrors both."""
    rgb, flow = ramp_clip(t=2), _flow_ramp()
    t = ClipTransform([RandomCrop(10), RandomHorizontalFlip(0.5)])
    flips = 0
    for seed in range(12):
        out = t({"rgb": rgb, "flow": flow}, np.random.default_rng(seed))
        alone = t(rgb, np.random.default_rng(seed))
        assert torch.equal(out["rgb"], alone)  # the same draw as the RGB-only pipeline
        assert out["flow"].shape == (2, 2, 10, 10) and out["flow"].dtype == torch.float32
        col, row = int(out["rgb"][0, 0, 0, 0]), int(out["rgb"][1, 0, 0, 0])  # ramp: red = column, green = row
        fx, fy = float(out["flow"][0, 0, 0, 0]), float(out["flow"][1, 0, 0, 0])
        flipped = fx < 0
        flips += flipped
        assert abs(fx) == col and fy == row + 0.5  # same pixel in both modalities, x negated when flipped
    assert 0 < flips < 12


def test_resize_scales_flow_displacements_and_normalize_skips_flow():
    flow = np.tile(np.array([2.0, -1.0], np.float32), (1, 12, 24, 1))
    rgb = np.zeros((1, 12, 24, 3), np.uint8)
    out = ClipTransform([ResizeShortSide(6), Normalize()])({"rgb": rgb, "flow": flow})
    assert out["flow"].shape == (2, 1, 6, 12) and out["rgb"].shape == (3, 1, 6, 12)
    assert torch.allclose(out["flow"][0], torch.tensor(1.0)) and torch.allclose(out["flow"][1], torch.tensor(-0.5))
    with pytest.raises(ValueError, match="different frame sizes"):
        ClipTransform([RandomCrop(4)])({"rgb": rgb, "flow": flow[:, :6]}, np.random.default_rng(0))


def test_five_and_ten_crops_mirror_flow():
    ten = eval_transform(24, 10, num_crops=10, output_uint8=True)({"rgb": ramp_clip(t=2), "flow": _flow_ramp()})
    assert ten["rgb"].shape == (10, 3, 2, 10, 10) and ten["flow"].shape == (10, 2, 2, 10, 10)
    assert [int(v[0, 0, 0, 0]) for v in ten["rgb"][:5]] == [0, 22, 0, 22, 11]  # corners then centre (columns)
    assert torch.equal(ten["rgb"][5:], ten["rgb"][:5].flip(-1))  # then their mirror images
    assert torch.equal(ten["flow"][5:, 0], -ten["flow"][:5, 0].flip(-1))  # mirrored flow: x negated
    assert eval_transform(24, 10, num_crops=5)(ramp_clip()).shape == (5, 3, 4, 10, 10)
