"""VideoDataset, collation, loaders and build_datasets on the tiny synthetic dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from datasets_tree import data_config, synthetic_kwargs

from vidzoo.data.annotations import VideoRecord, read_ucf_style_split
from vidzoo.data.builder import build_datasets
from vidzoo.data.dataset import VideoDataset, collate_clips
from vidzoo.data.decoding import build_decoder
from vidzoo.data.dataloader import ShardedSampler, build_loader, set_epoch
from vidzoo.data.sampling import RandomClipSampler, UniformClipSampler
from corrupt_videos import write_corrupt_video
from vidzoo.data.synthetic import CLASSES
from vidzoo.data.transforms import eval_transform, flip_map_from_pairs, train_transform


def records(root, subset="train"):
    return read_ucf_style_split(root / "splits", root / "videos", 1, subset)[0]


def train_set(root, seed=0) -> VideoDataset:
    flip_map = flip_map_from_pairs(CLASSES, [("TranslateLeft", "TranslateRight"), ("RotateCW", "RotateCCW")])
    return VideoDataset(records(root), RandomClipSampler(4, 2), build_decoder("pyav"),
                        train_transform(32, 28, flip_map=flip_map), seed=seed)


def test_items(synthetic_root):
    ds = train_set(synthetic_root)
    item = ds[0]
    assert set(item) == {"inputs", "label", "index"}
    assert item["inputs"].shape == (3, 4, 28, 28) and item["inputs"].dtype == torch.float32
    assert item["index"] == 0 and 0 <= item["label"] < len(CLASSES)
    val = VideoDataset(records(synthetic_root, "test"), UniformClipSampler(4, 2, num_clips=2), build_decoder("pyav"),
                       eval_transform(32, 28, num_crops=3))
    assert val[1]["inputs"].shape == (6, 3, 4, 28, 28)  # (clips x crops, C, T, H, W)
    assert val[1]["label"] == val.records[1].label


def test_per_sample_randomness(synthetic_root):
    ds = train_set(synthetic_root)
    a = ds[5]["inputs"]
    assert torch.equal(a, train_set(synthetic_root)[5]["inputs"])  # a fresh dataset draws the same
    ds.set_epoch(1)
    assert not torch.equal(a, ds[5]["inputs"])  # another epoch draws differently
    ds.set_epoch(0)
    assert torch.equal(a, ds[5]["inputs"])
    assert not torch.equal(a, train_set(synthetic_root, seed=1)[5]["inputs"])


def test_flipped_direction_labels_swap(synthetic_root):
    """Over many epochs a TranslateLeft video is sometimes flipped, and then labelled TranslateRight."""
    ds = train_set(synthetic_root)
    i = next(k for k, r in enumerate(ds.records) if CLASSES[r.label] == "TranslateLeft")
    labels = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        labels.add(CLASSES[ds[i]["label"]])
    assert labels == {"TranslateLeft", "TranslateRight"}


def _epoch_batches(loader, epoch):
    set_epoch(loader, epoch)
    return [(b["index"].clone(), b["label"].clone(), b["inputs"].clone()) for b in loader]


def test_same_batches_whatever_the_worker_count(synthetic_root):
    """Shuffling and augmentation depend on (seed, epoch, index) only; persistent workers follow set_epoch."""
    ds = train_set(synthetic_root)
    serial = build_loader(ds, batch_size=4, shuffle=True, num_workers=0, seed=3)
    parallel = build_loader(train_set(synthetic_root), batch_size=4, shuffle=True, num_workers=2,
                            persistent_workers=True, prefetch_factor=2, seed=3)
    for epoch in (0, 1):
        a, b = _epoch_batches(serial, epoch), _epoch_batches(parallel, epoch)
        assert len(a) == len(b) == -(-len(ds) // 4)
        for (ia, la, xa), (ib, lb, xb) in zip(a, b):
            assert torch.equal(ia, ib) and torch.equal(la, lb) and torch.equal(xa, xb)
    e0, e1 = _epoch_batches(serial, 0), _epoch_batches(serial, 1)
    assert not torch.equal(torch.cat([i for i, _, _ in e0]), torch.cat([i for i, _, _ in e1]))
    assert sorted(torch.cat([i for i, _, _ in e0]).tolist()) == list(range(len(ds)))


def test_corrupt_videos_are_collated_as_failures(synthetic_root, tmp_path):
    good = records(synthetic_root)[:3]
    bad = [VideoRecord(str(write_corrupt_video(tmp_path / "empty.avi", "empty")), 0),
           VideoRecord(str(tmp_path / "missing.avi"), 1)]
    ds = VideoDataset(good[:1] + bad + good[1:], RandomClipSampler(4), build_decoder("pyav"), train_transform(32, 28))
    assert ds[1] == {"error": f"{tmp_path / 'empty.avi'}: empty file (0 bytes)", "index": 1}
    batch = next(iter(build_loader(ds, batch_size=5, shuffle=False, num_workers=0)))
    assert batch["inputs"].shape == (3, 3, 4, 28, 28)
    assert batch["index"].tolist() == [0, 3, 4] and batch["failed_index"].tolist() == [1, 2]
    assert len(batch["failed"]) == 2 and str(tmp_path / "missing.avi") in batch["failed"][1]
    only_bad = collate_clips([ds[1], ds[2]])
    assert only_bad["inputs"] is None and only_bad["label"].numel() == 0 and len(only_bad["failed"]) == 2


def test_collate_multimodal_dicts():
    items = [{"inputs": {"rgb": torch.zeros(3, 2, 4, 4), "flow": torch.ones(2, 5, 4, 4)}, "label": k, "index": k}
             for k in range(2)]
    batch = collate_clips(items)
    assert batch["inputs"]["rgb"].shape == (2, 3, 2, 4, 4) and batch["inputs"]["flow"].shape == (2, 2, 5, 4, 4)


def test_record_time_window(synthetic_root):
    rec = records(synthetic_root)[0]
    ds = VideoDataset([VideoRecord(rec.path, rec.label, start=0.2, end=0.4)], UniformClipSampler(3),
                      build_decoder("pyav"), eval_transform(32, 28))
    idx = ds.frame_indices(0, np.random.default_rng(0))["rgb"]  # 25 fps: frames 5..9
    assert idx.tolist() == [[6, 7, 8]]


def test_sharded_sampler_ranks_are_disjoint():
    shards = [list(ShardedSampler(10, shuffle=True, seed=1, rank=r, world_size=3, even=False)) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))
    even = [list(ShardedSampler(10, shuffle=True, seed=1, rank=r, world_size=3, even=True)) for r in range(3)]
    assert {len(s) for s in even} == {4} and set(sum(even, [])) == set(range(10))
    s = ShardedSampler(10, shuffle=True, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert sorted(list(s)) == sorted(first) and list(s) != first


def test_build_datasets_synthetic(synthetic_root):
    bundle = build_datasets(data_config(source="synthetic", root=synthetic_root, num_frames=4, stride=2, resize=32, crop_size=28,
                            test_clips=2, test_crops=1, synthetic_kwargs=synthetic_kwargs(synthetic_root)))
    assert bundle.class_names == list(CLASSES) and bundle.num_classes == 9
    assert ("TranslateLeft", "TranslateRight") in bundle.flip_pairs
    assert len(bundle.train) == 27 and len(bundle.val) == 18
    assert bundle.train[0]["inputs"].shape == (3, 4, 28, 28)
    assert bundle.val[0]["inputs"].shape == (2, 3, 4, 28, 28)
    pre = bundle.preprocessing
    assert pre["mean"] == list(bundle.mean) and pre["crop_size"] == 28 and pre["modality"] == "rgb"
    json.dumps(pre)  # checkpoints store it as JSON
    raw = build_datasets(data_config(root=synthetic_root, num_frames=4, resize=32, crop_size=28,
                         synthetic_kwargs=synthetic_kwargs(synthetic_root)), normalize=False)
    assert raw.train[0]["inputs"].dtype == torch.uint8
    seq = build_datasets(data_config(root=synthetic_root, num_frames=2, stride=1, resize=32, crop_size=28, sampler="sequence",
                         seq_clips=3, synthetic_kwargs=synthetic_kwargs(synthetic_root)))
    assert seq.train[0]["inputs"].shape == (3, 6, 28, 28)


def test_build_datasets_errors(synthetic_root, tmp_path):
    kw = {"root": synthetic_root, "synthetic_kwargs": synthetic_kwargs(synthetic_root)}
    with pytest.raises(ValueError, match="data.sampler"):
        build_datasets(data_config(sampler="bogus", **kw))
    with pytest.raises(ValueError, match="data.modality"):
        build_datasets(data_config(modality="depth", **kw))
    with pytest.raises(ValueError, match="data.decoder=flow reads stored flow"):
        build_datasets(data_config(decoder="flow", **kw))
    with pytest.raises(ValueError, match="data.source"):
        build_datasets(data_config(source="kinetics", root=tmp_path))
    with pytest.raises(ValueError, match="only split 1"):
        build_datasets(data_config(split=2, **kw))
