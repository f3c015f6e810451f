"""The augmentation switches of the data config: ``data.flip`` / ``flip_pairs`` / ``reverse_pairs`` on any source
(a clip and its mirror, labels swapped; checked against the class list), ``data.crop`` / ``data.color_jitter`` inside
the per-sample draw (one draw for every frame, RGB and flow alike; a function of (seed, epoch, index)), and what the
checkpoint's preprocessing records."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets_tree import data_config, make_ucf101_tree, synthetic_kwargs

from vidzoo.data.builder import build_datasets
from vidzoo.data.clip_augment import BoxCrop, Jitter, color_jitter, train_crop
from vidzoo.data.dataset import sample_rng
from vidzoo.data.transforms import (
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomTimeReversal,
    ResizeShortSide,
    train_transform,
)
from vidzoo.errors import ConfigValueError

PAIR = [["ApplyEyeMakeup", "YoYo"]]


@pytest.fixture(scope="module")
def ucf(tmp_path_factory) -> str:
    return str(make_ucf101_tree(tmp_path_factory.mktemp("flip") / "ucf", groups=2, clips=1))


def _items(bundle, epoch: int = 0) -> list[dict]:
    bundle.train.set_epoch(epoch)
    return [bundle.train[i] for i in range(len(bundle.train))]


def test_flip_with_declared_pairs_swaps_labels_on_a_clip_and_its_mirror(ucf):
    kw = dict(source="ucf101", root=ucf, split=1, resize=32, crop_size=28, num_frames=4)
    plain = build_datasets(data_config(flip=0.0, **kw), seed=1)
    mirrored = build_datasets(data_config(flip=1.0, flip_pairs=PAIR, **kw), seed=1)
    names = plain.class_names
    swap = {"ApplyEyeMakeup": "YoYo", "YoYo": "ApplyEyeMakeup", "HandstandPushups": "HandstandPushups"}
    for a, b in zip(_items(plain), _items(mirrored)):
        assert torch.equal(b["inputs"], a["inputs"].flip(-1))  # the same clip and crop, mirrored
        assert names[b["label"]] == swap[names[a["label"]]]
    assert not torch.equal(a["inputs"], b["inputs"])
    assert mirrored.preprocessing["augment"]["flip_pairs"] == PAIR and mirrored.flip_pairs == [tuple(PAIR[0])]


def test_flip_zero_disables_flips_and_undeclared_pairs_keep_labels(ucf):
    kw = dict(source="ucf101", root=ucf, split=1, resize=32, crop_size=28, num_frames=4)
    off = build_datasets(data_config(flip=0.0, flip_pairs=PAIR, **kw))
    assert not any(isinstance(op, RandomHorizontalFlip) for op in off.train.transform.ops)
    for epoch in range(3):
        assert [it["label"] for it in _items(off, epoch)] == off.train.labels
    free = build_datasets(data_config(flip=1.0, **kw))  # a real source declares no pairs: flips keep the label
    assert [it["label"] for it in _items(free)] == free.train.labels


@pytest.mark.parametrize("key", ["flip_pairs", "reverse_pairs"])
def test_unknown_class_in_pairs_is_a_one_line_error(ucf, key):
    bad = {key: [["ApplyEyeMakeup", "Jump"]], "time_reversal": key == "reverse_pairs"}
    with pytest.raises(ConfigValueError) as err:
        build_datasets(data_config(source="ucf101", root=ucf, split=1, **bad))
    msg = str(err.value)
    assert "\n" not in msg and f"data.{key}" in msg and "'Jump'" in msg and "HandstandPushups" in msg


def test_time_reversal_on_any_source_that_declares_pairs(ucf, synthetic_root):
    bundle = build_datasets(data_config(source="ucf101", root=ucf, split=1, time_reversal=True, reverse_pairs=PAIR))
    rev = [op for op in bundle.train.transform.ops if isinstance(op, RandomTimeReversal)]
    names = bundle.class_names
    assert len(rev) == 1 and [names[i] for i in rev[0].reverse_map] == ["YoYo", "HandstandPushups", "ApplyEyeMakeup"]
    with pytest.raises(ConfigValueError, match="data.reverse_pairs"):
        build_datasets(data_config(source="ucf101", root=ucf, split=1, time_reversal=True))
    # the synthetic source declares its own pairs through the same mechanism; [] declares none
    syn = dict(source="synthetic", root=synthetic_root, synthetic_kwargs=synthetic_kwargs(synthetic_root))
    own = build_datasets(data_config(**syn))
    assert ("TranslateLeft", "TranslateRight") in own.flip_pairs
    assert build_datasets(data_config(flip_pairs=[], **syn)).flip_pairs == []


def test_defaults_keep_the_op_sequence_and_preprocessing_records_the_switches(ucf):
    bundle = build_datasets(data_config(source="ucf101", root=ucf, split=1, resize=32, crop_size=28))
    assert [type(op) for op in bundle.train.transform.ops] == [ResizeShortSide, RandomCrop, RandomHorizontalFlip,
                                                               Normalize]
    assert bundle.train.transform.ops[2].p == 0.5
    aug = build_datasets(data_config(source="ucf101", root=ucf, split=1, resize=32, crop_size=28, crop="multiscale",
                                     color_jitter=[0.4, 0.4, 0.4, 0.1]))
    assert [type(op) for op in aug.train.transform.ops] == [ResizeShortSide, BoxCrop, RandomHorizontalFlip, Jitter,
                                                            Normalize]
    assert aug.preprocessing["augment"]["crop"] == "multiscale"
    assert aug.preprocessing["augment"]["color_jitter"] == [0.4, 0.4, 0.4, 0.1]
    assert [type(op) for op in aug.val.transform.ops] == [type(op) for op in bundle.val.transform.ops]


T, H, W = 4, 36, 48


def _sample() -> dict[str, np.ndarray]:
    """RGB whose frames are all one picture, and flow whose every field is the same (x, y) ramp."""
    rng = np.random.default_rng(0)
    rgb = np.broadcast_to(rng.integers(0, 256, (1, H, W, 3), dtype=np.uint8), (T, H, W, 3)).copy()
    y, x = np.meshgrid(np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32), indexing="ij")
    flow = np.broadcast_to(np.stack([x, y], -1), (T, H, W, 2)).copy()
    return {"rgb": rgb, "flow": flow}


AUGMENT = {"multiscale": dict(crop=train_crop("multiscale", 24)),
           "random_resized": dict(crop=train_crop("random_resized", 24, area=(0.3, 1.0))),
           "color_jitter": dict(jitter=color_jitter([0.4, 0.4, 0.4, 0.1]))}


@pytest.mark.parametrize("name", sorted(AUGMENT))
def test_augmentation_one_draw_for_every_frame_and_for_rgb_and_flow(name):
    tf = train_transform(36, 24, flip=0.0, output_uint8=True, **AUGMENT[name])
    out, _ = tf.apply(_sample(), sample_rng(0, 0, 3))
    rgb, flow = out["rgb"], out["flow"]  # (C, T, h, w)
    assert all(torch.equal(rgb[:, t], rgb[:, 0]) for t in range(T))
    assert all(torch.equal(flow[:, t], flow[:, 0]) for t in range(T))
    alone, _ = tf.apply(_sample()["rgb"], sample_rng(0, 0, 3))
    assert torch.equal(alone, rgb)  # the RGB of a two-stream sample is the RGB pipeline's, draw for draw
    if name != "color_jitter":  # the flow ramp shows where the crop was: RGB re-cut there gives the same pixels
        box = AUGMENT[name]["crop"].op.draw(H, W, sample_rng(0, 0, 3))  # flow values are scaled by 24 / box side
        assert abs(float(flow[0, 0, 0, 0]) * box.width / 24 - box.left) < box.width / 24 + 1
        assert abs(float(flow[1, 0, 0, 0]) * box.height / 24 - box.top) < box.height / 24 + 1


@pytest.mark.parametrize("name", sorted(AUGMENT))
def test_augmentation_is_a_function_of_seed_epoch_index(name):
    tf = train_transform(36, 24, output_uint8=True, **AUGMENT[name])
    a, _ = tf.apply(_sample(), sample_rng(4, 1, 2))
    b, _ = tf.apply(_sample(), sample_rng(4, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    others = [tf.apply(_sample(), sample_rng(4, e, i))[0]["rgb"] for e in range(2) for i in range(4)]
    assert any(not torch.equal(o, a["rgb"]) for o in others)


@pytest.mark.parametrize("override, key", [
    ("data.flip=1.5", "data.flip"), ("data.crop=corner", "data.crop"), ("data.color_jitter=[0.4,0.4]", "data.color_jitter"),
    ("data.crop_scales=[1.0,1.2]", "data.crop_scales"), ("data.crop_area=[0.5,0.1]", "data.crop_area"),
    ("data.flip_pairs=[[A,B,C]]", "data.flip_pairs"), ("trainer.mix_prob=2", "trainer.mix_prob"),
    ("trainer.mixup_alpha=-1", "trainer.mixup_alpha"),
])
def test_bad_augmentation_values_are_refused_naming_the_key(override, key, tmp_path):
    from vidzoo.cli import compose_or_explain
    from vidzoo.validation import validate_config

    cfg = compose_or_explain([override, f"trainer.output_dir={tmp_path / 'out'}"])
    with pytest.raises(ConfigValueError, match=key.replace(".", r"\.")) as err:
        validate_config(cfg)
    assert "\n" not in str(err.value)
