"""``vidzoo.load_clips``: a video file -> exactly the tensor evaluation feeds the model."""

from __future__ import annotations

import pytest
import torch

import vidzoo
from datasets_tree import data_config, synthetic_kwargs
from vidzoo.data.builder import build_datasets


def _bundle(root, **kw):
    return build_datasets(data_config(source="synthetic", root=root, synthetic_kwargs=synthetic_kwargs(root), num_frames=4, stride=2,
                          resize=32, crop_size=28, **kw))


@pytest.mark.parametrize("test_clips,test_crops", [(1, 1), (3, 1), (2, 3)])
def test_load_clips_equals_the_evaluation_input(synthetic_root, test_clips, test_crops):
    bundle = _bundle(synthetic_root, test_clips=test_clips, test_crops=test_crops)
    item = bundle.val[4]
    clips = vidzoo.load_clips(bundle.val.records[4].path, bundle.preprocessing,
                              num_clips=test_clips, num_crops=test_crops)
    expected = item["inputs"] if item["inputs"].ndim == 5 else item["inputs"][None]
    assert clips.shape == (test_clips * test_crops, 3, 4, 28, 28)
    assert clips.dtype == torch.float32
    torch.testing.assert_close(clips, expected, rtol=0, atol=0)


def test_load_clips_normalises_from_0_255(synthetic_root):
    bundle = _bundle(synthetic_root)
    pre = dict(bundle.preprocessing, mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    clips = vidzoo.load_clips(bundle.val.records[0].path, pre)
    assert 0.0 <= float(clips.min()) and float(clips.max()) <= 1.0 and float(clips.max()) > 0.2


def test_load_clips_refuses_flow_and_incomplete_preprocessing(synthetic_root):
    path = _bundle(synthetic_root).val.records[0].path
    with pytest.raises(ValueError, match="modality 'flow'"):
        vidzoo.load_clips(path, {"resize": 32, "crop_size": 28, "num_frames": 4, "modality": "flow"})
    with pytest.raises(ValueError, match="lacks crop_size"):
        vidzoo.load_clips(path, {"resize": 32, "num_frames": 4})


def test_load_clips_equals_the_evaluation_input_of_the_multiclip_sampler(synthetic_root):
    bundle = _bundle(synthetic_root, sampler="multiclip", seq_clips=2, clip_strides=[1, 3], test_crops=10)
    clips = vidzoo.load_clips(bundle.val.records[1].path, bundle.preprocessing, num_crops=10)
    assert clips.shape == (10, 3, 8, 28, 28)
    torch.testing.assert_close(clips, bundle.val[1]["inputs"], rtol=0, atol=0)
