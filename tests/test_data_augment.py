"""``vidzoo.data.augment``: one draw per clip (every frame, RGB and flow alike), TSN's crop grid, output shapes,
determinism given (seed, epoch, index), mixup / cutmix label mass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidzoo.data.augment import (
    TSN_SCALES,
    ColorJitter,
    CropBox,
    MultiScaleCrop,
    RandomResizedCrop,
    mix_batch,
    resized_crop,
    smooth_one_hot,
)

T, H, W = 6, 48, 64


def _clip(dtype=torch.uint8) -> torch.Tensor:
    """``(T, 3, H, W)`` whose frames are all the same picture (so equal draws give equal frames)."""
    g = torch.Generator().manual_seed(0)
    frame = torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8)
    clip = frame.expand(T, 3, H, W).clone()
    return clip if dtype == torch.uint8 else clip.to(dtype) / 255


def _flow() -> torch.Tensor:
    """A flow stack ``(2, T, H, W)`` whose every field is the same (x, y) ramp."""
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
    return torch.stack([x, y])[:, None].expand(2, T, H, W).clone()


def _sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The datasets' per-sample generator (``vidzoo.data.dataset.VideoDataset.__getitem__``)."""
    return np.random.default_rng([seed, epoch, index])


CROPS = [MultiScaleCrop(32), MultiScaleCrop((32, 40), more_fix_crop=True), RandomResizedCrop(32, scale=(0.2, 1.0))]


@pytest.mark.parametrize("op", CROPS, ids=repr)
def test_crop_same_box_every_frame_and_flow(op):
    rgb, flow = _clip(), _flow()
    out_rgb, out_flow = op(rgb, flow, rng=_sample_rng(0, 0, 1))
    assert out_rgb.shape == (T, 3, *op.size) and out_rgb.dtype == torch.uint8
    assert out_flow.shape == (2, T, *op.size)
    assert all(torch.equal(out_rgb[t], out_rgb[0]) for t in range(T))
    assert all(torch.equal(out_flow[:, t], out_flow[:, 0]) for t in range(T))
    # the same box: re-cutting the RGB clip with the box the flow ramp reveals gives the same pixels
    box = op.draw(H, W, _sample_rng(0, 0, 1))
    assert torch.equal(out_rgb, resized_crop(rgb, box))
    assert torch.allclose(out_flow, resized_crop(flow, box))
    left, top = out_flow[0, 0, 0, 0], out_flow[1, 0, 0, 0]  # ramp value at the output's top-left ~ box corner
    assert abs(float(left) - box.left) < box.width / op.size[1] + 1
    assert abs(float(top) - box.top) < box.height / op.size[0] + 1


@pytest.mark.parametrize("op", CROPS, ids=repr)
def test_crop_channel_first_layout_and_float(op):
    rgb = _clip(torch.float32).transpose(0, 1)  # (C, T, H, W)
    out, _ = op(rgb, rng=torch.Generator().manual_seed(3))
    assert out.shape == (3, T, *op.size) and out.dtype == torch.float32


@pytest.mark.parametrize("op", CROPS, ids=repr)
def test_crop_deterministic_given_seed_epoch_index(op):
    rgb, flow = _clip(), _flow()
    a = op(rgb, flow, rng=_sample_rng(7, 2, 5))
    b = op(rgb, flow, rng=_sample_rng(7, 2, 5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    boxes = {op.draw(H, W, _sample_rng(7, e, i)) for e in range(3) for i in range(20)}
    assert len(boxes) > 3  # other (epoch, index) pairs draw other boxes
    t1, t2 = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    assert op.draw(H, W, t1) == op.draw(H, W, t2)


def test_multiscale_crop_follows_tsn_grid():
    op = MultiScaleCrop(112)  # TSN on 340x256 frames (short side 256), output 224 in the paper; here 112 at 128x171
    h, w = 128, 171
    sides = [int(128 * s) for s in TSN_SCALES]  # 128, 112, 96, 84
    seen_sizes, seen_pos = set(), set()
    rng = _sample_rng(0, 0, 0)
    for _ in range(400):
        box = op.draw(h, w, rng)
        i, j = sides.index(box.height), sides.index(box.width)
        assert abs(i - j) <= 1  # max_distort=1
        steps = ((h - box.height) // 4, (w - box.width) // 4)
        assert box.top in (0, 2 * steps[0], 4 * steps[0]) and box.left in (0, 2 * steps[1], 4 * steps[1])
        centre = box.top == 2 * steps[0] and box.left == 2 * steps[1]
        assert centre or (box.top in (0, 4 * steps[0]) and box.left in (0, 4 * steps[1]))
        seen_sizes.add((i, j))
        if min(steps) > 0:  # a full-height crop has its 5 positions in one row
            seen_pos.add((box.top // steps[0], box.left // steps[1]))
        assert box.size == (112, 112)
    assert len(seen_sizes) == 10  # 4 + 3 + 3 pairs at most one scale step apart
    assert len(seen_pos) == 5
    assert len(op.positions(h, w, 96, 96)) == 5
    assert len(MultiScaleCrop(112, more_fix_crop=True).positions(h, w, 96, 96)) == 13


def test_multiscale_crop_snaps_near_output_size():
    box = MultiScaleCrop(110).draw(112, 150, np.random.default_rng(0))  # int(112 * 1.0) = 112 is within 3 px of 110
    sides = {110, int(112 * 0.875), int(112 * 0.75), int(112 * 0.66)}
    assert box.height in sides and box.width in sides


def test_random_resized_crop_area_and_ratio():
    op = RandomResizedCrop(32, scale=(0.25, 0.5), ratio=(0.75, 4 / 3))
    rng = _sample_rng(0, 0, 0)
    for _ in range(100):
        box = op.draw(H, W, rng)
        area = box.height * box.width / (H * W)
        assert 0.2 < area < 0.56 and 0.6 < box.width / box.height < 1.5
        assert 0 <= box.top <= H - box.height and 0 <= box.left <= W - box.width
    # 90%+ of a square frame at aspect 3-4 never fits: torchvision's fallback, the centre crop at the nearest ratio
    assert RandomResizedCrop(8, scale=(0.9, 1.0), ratio=(3.0, 4.0)).draw(40, 40, rng) == CropBox(13, 0, 13, 40, (8, 8))


def test_crop_refuses_flow_of_another_size():
    with pytest.raises(ValueError, match="differ in size"):
        MultiScaleCrop(32)(_clip(), _flow()[..., :40], rng=_sample_rng(0, 0, 0))


def test_color_jitter_one_draw_for_all_frames_flow_untouched():
    op = ColorJitter(0.4, 0.4, 0.4, 0.1)
    rgb, flow = _clip(), _flow()
    out, out_flow = op(rgb, flow, rng=_sample_rng(1, 0, 3))
    assert out.shape == rgb.shape and out.dtype == torch.uint8 and out_flow is flow
    assert not torch.equal(out, rgb)
    assert all(torch.equal(out[t], out[0]) for t in range(T))
    again, _ = op(rgb, flow, rng=_sample_rng(1, 0, 3))
    assert torch.equal(out, again)
    other, _ = op(rgb, flow, rng=_sample_rng(1, 1, 3))  # next epoch: another draw
    assert not torch.equal(out, other)
    cthw, _ = op(rgb.transpose(0, 1), rng=_sample_rng(1, 0, 3), channel_dim=-4)  # (C, T, H, W): same result
    assert torch.equal(cthw.transpose(0, 1), out)


def test_color_jitter_params_in_range():
    op = ColorJitter(brightness=0.5, hue=0.2)
    for i in range(50):
        p = op.draw(_sample_rng(0, 0, i))
        assert sorted(p.order) == [0, 1, 2, 3] and p.contrast is None and p.saturation is None
        assert 0.5 <= p.brightness <= 1.5 and -0.2 <= p.hue <= 0.2
    with pytest.raises(ValueError, match="hue"):
        ColorJitter(hue=0.7)


def _batch(b: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(b, 3, T, H, W, generator=g), torch.arange(b) % 4


@pytest.mark.parametrize("mixup, cutmix", [(0.8, 0.0), (0.0, 1.0), (0.8, 1.0)])
def test_mix_batch_label_mass_and_determinism(mixup, cutmix):
    clips, y = _batch()
    for step in range(10):
        out, soft = mix_batch(clips, y, 5, torch.Generator().manual_seed(step), mixup_alpha=mixup,
                              cutmix_alpha=cutmix, label_smoothing=0.1)
        assert out.shape == clips.shape and soft.shape == (6, 5)
        assert torch.allclose(soft.sum(1), torch.ones(6)) and bool((soft > 0).all())
        again, soft2 = mix_batch(clips, y, 5, torch.Generator().manual_seed(step), mixup_alpha=mixup,
                                 cutmix_alpha=cutmix, label_smoothing=0.1)
        assert torch.equal(out, again) and torch.equal(soft, soft2)


def test_cutmix_box_same_on_every_frame_and_lam_is_kept_area():
    clips, y = _batch()
    clips[:, :, 1:] = clips[:, :, :1]  # every frame equal within a clip
    flow = torch.rand(6, 2, T, H, W)
    flow[:, :, 1:] = flow[:, :, :1]
    out, soft = mix_batch({"rgb": clips, "flow": flow}, y, 4, np.random.default_rng(4), mixup_alpha=0.0,
                          cutmix_alpha=1.0, label_smoothing=0.0)
    rgb = out["rgb"]
    assert all(torch.equal(rgb[:, :, t], rgb[:, :, 0]) for t in range(T))
    pasted = (rgb[0, 0, 0] != clips[0, 0, 0])  # (H, W): where clip 0 took clip 5's pixels
    pasted_flow = (out["flow"][0, 0, 0] != flow[0, 0, 0])
    assert torch.equal(pasted, pasted_flow) and 0 < int(pasted.sum()) < H * W  # one box for RGB and flow
    kept = 1.0 - float(pasted.sum()) / (H * W)
    expected = smooth_one_hot(y, 4) * kept + smooth_one_hot(y.flip(0), 4) * (1 - kept)
    assert torch.allclose(soft, expected, atol=1e-6)


def test_mixup_blends_with_reversed_batch_and_smoothing_only_without_mixing():
    clips, y = _batch()
    out, soft = mix_batch(clips, y, 4, torch.Generator().manual_seed(0), mixup_alpha=0.8, cutmix_alpha=0.0,
                          label_smoothing=0.0)
    lam = float(soft[0, y[0]]) if y[0] != y[-1] else None
    if lam is not None:
        assert torch.allclose(out[0], clips[0] * lam + clips[-1] * (1 - lam), atol=1e-6)
    plain, smoothed = mix_batch(clips, y, 4, torch.Generator().manual_seed(0), prob=0.0, label_smoothing=0.2)
    assert plain is clips
    assert torch.allclose(smoothed, smooth_one_hot(y, 4, 0.2))
    assert torch.allclose(smoothed.max(1).values, torch.full((6,), 0.85))


def test_soft_targets_feed_cross_entropy():
    """``nn.CrossEntropyLoss`` takes the (B, K) probabilities as they are: -sum(soft * log_softmax) per clip."""
    clips, y = _batch()
    _, soft = mix_batch(clips, y, 4, torch.Generator().manual_seed(1), label_smoothing=0.1)
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(2))
    loss = torch.nn.CrossEntropyLoss()(logits, soft)
    assert torch.allclose(loss, -(soft * logits.log_softmax(1)).sum(1).mean())
    # without mixing, smoothing in mix_batch equals the loss's own label_smoothing
    _, plain = mix_batch(clips, y, 4, torch.Generator().manual_seed(1), prob=0.0, label_smoothing=0.1)
    assert torch.allclose(torch.nn.CrossEntropyLoss()(logits, plain),
                          torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y))
