"""``data.sampler=multiclip``: clips with their own strides across the whole video, fed to a clip-sequence model."""

from __future__ import annotations

import numpy as np
import torch

from datasets_tree import data_config, synthetic_kwargs
from vidzoo.data.builder import build_datasets
from vidzoo.data.dataloader import build_loader, set_epoch
from vidzoo.data.dataset import sample_rng
from vidzoo.models.registry import build_model


def _bundle(root):
    return build_datasets(data_config(root=root, synthetic_kwargs=synthetic_kwargs(root), sampler="multiclip",
                                      seq_clips=3, num_frames=4, clip_strides=[1, 3], resize=32, crop_size=28,
                                      test_clips=1), seed=5)


def test_multiclip_samples_feed_cnn_lstm_deterministically(synthetic_root):
    bundle = _bundle(synthetic_root)
    assert bundle.preprocessing["sampler"] == "multiclip" and bundle.preprocessing["clip_strides"] == [1, 3]
    train = bundle.train
    item = train[2]
    assert item["inputs"].shape == (3, 12, 28, 28)  # (C, clips * clip_len, H, W), clip-major
    assert torch.equal(item["inputs"], train[2]["inputs"])  # a function of (seed, epoch, index)
    read = [train.frame_indices(2, sample_rng(5, e, 2))["rgb"] for e in range(6)]
    assert len({r.tobytes() for r in read}) > 1  # epochs draw other strides/positions
    for r in read:
        steps = np.diff(r.reshape(3, 4), axis=1)  # 16-frame videos: strides 1..3 fit
        assert ((steps >= 1) & (steps <= 3)).all() and (steps == steps[:, :1]).all()
    test = bundle.val.frame_indices(0, np.random.default_rng(0))["rgb"]
    assert test.tolist() == [[0, 2, 4, 6, 4, 6, 8, 10, 9, 11, 13, 15]]  # middle stride 2, centred in 3 thirds

    model = build_model("cnn_lstm_small", num_classes=bundle.num_classes).eval()
    loader = build_loader(train, batch_size=4, shuffle=True, seed=5)
    set_epoch(loader, 1)
    batch = next(iter(loader))
    with torch.no_grad():
        logits = model(batch["inputs"])  # the model splits T = 12 into 3 clips of 4
    assert logits.shape == (4, bundle.num_classes) and torch.isfinite(logits).all()
