"""Stored flow through the one data pipeline: the ``"flow"`` decoder, flow-stack sampling, and two-stream
samples whose RGB is the ``rgb`` pipeline's and whose flow shares its crop and flip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from datasets_tree import data_config, synthetic_kwargs
from vidzoo.data.annotations import VideoRecord, read_ucf_style_split
from vidzoo.data.builder import build_datasets
from vidzoo.data.dataset import VideoDataset, sample_rng
from vidzoo.data.decoding import VideoDecodeError, build_decoder
from vidzoo.data.sampling import ClipSampler, RandomClipSampler, SegmentSampler
from vidzoo.data.synthetic import CLASSES, FLIP_PAIRS
from vidzoo.data.transforms import eval_transform, flip_map_from_pairs, train_transform
from vidzoo.flow import extraction as ex


@pytest.fixture(scope="module")
def flow_setup(synthetic_root: Path, tmp_path_factory) -> dict:
    flow_root = tmp_path_factory.mktemp("flow")
    train, classes = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "train")
    train = [r for r in train if CLASSES[r.label] in ("TranslateLeft", "TranslateRight", "Still")][:6]
    opts = ex.ExtractionOptions(algorithm="dis", params={"preset": "medium"})
    ex.extract_dataset([r.path for r in train], synthetic_root / "videos", flow_root, opts, workers=0, progress=False)
    flow = build_decoder("flow", flow_root=flow_root, video_root=synthetic_root / "videos")
    return {"records": train, "classes": classes, "flow_root": flow_root, "flow": flow}


class _StackMiddles(ClipSampler):
    """For the ``rgb`` pipeline: the frames a two-stream sample reads (the middle of each flow stack; a video of
    F frames has F - 1 flow fields), drawn with the same calls on the generator as the flow sampler makes, so the
    transform's draws match too."""

    def __init__(self, inner: ClipSampler, length: int) -> None:
        self.inner, self.length, self.clip_len = inner, length, inner.clip_len

    def __call__(self, num_video_frames: int, rng=None) -> np.ndarray:
        return self.inner(max(num_video_frames - self.length, 1), rng) + self.length // 2


def test_flow_decoder_backend(flow_setup):
    dec, path = flow_setup["flow"], flow_setup["records"][0].path
    assert dec.num_frames(path) == 15 and dec.fps(path) == 25.0
    out = dec.decode(path, [3, 0, 3])
    assert out.shape == (3, 32, 40, 2) and out.dtype == np.float32
    assert np.array_equal(out[0], out[2])
    with pytest.raises(VideoDecodeError, match="out of range"):
        dec.decode(path, [15])
    with pytest.raises(VideoDecodeError, match="vidzoo-extract-flow"):
        dec.decode(str(Path(path).with_name("missing.avi")), [0])


def test_two_stream_rgb_is_the_rgb_pipeline_and_flow_shares_its_crop_and_flip(flow_setup):
    """rgb+flow: the RGB tensor equals what an ``rgb``-modality dataset gives for the same sample (frames, crop and
    flip); the flow stack is cut by the same crop box and mirrored by the same flip (x negated)."""
    recs, classes = flow_setup["records"], flow_setup["classes"]
    flip_map = flip_map_from_pairs(classes, FLIP_PAIRS)
    transform = train_transform(32, 24, flip_map=flip_map)  # 32 = the videos' short side: no resize
    fused = VideoDataset(recs, SegmentSampler(2), build_decoder("pyav"), transform, seed=7, modality="rgb+flow",
                         flow_decoder=flow_setup["flow"], flow_length=4)
    rgb_only = VideoDataset(recs, _StackMiddles(SegmentSampler(2), 4), build_decoder("pyav"), transform, seed=7)
    flips = 0
    for i in range(len(recs)):
        item = fused[i]
        alone = rgb_only[i]
        rng = sample_rng(7, 0, i)
        read = fused.frame_indices(i, rng)  # advances rng past the sampler's draws, as __getitem__ does
        assert read["rgb"].shape == (1, 2) and read["flow"].shape == (1, 8)
        assert (read["rgb"] == read["flow"][:, ::4] + 2).all()  # the RGB frame is the middle of its stack
        assert torch.equal(item["inputs"]["rgb"], alone["inputs"]) and item["label"] == alone["label"]
        # the flow by hand from the transform's draws: same crop box, same flip, x negated
        top, left = int(rng.integers(0, 32 - 24 + 1)), int(rng.integers(0, 40 - 24 + 1))
        flipped = rng.random() < 0.5
        raw = flow_setup["flow"].decode(recs[i].path, read["flow"][0])[:, top:top + 24, left:left + 24]
        if flipped:
            raw = raw[:, :, ::-1] * np.array([-1.0, 1.0], np.float32)
        expected = torch.from_numpy(np.ascontiguousarray(raw.transpose(3, 0, 1, 2)))
        torch.testing.assert_close(item["inputs"]["flow"], expected, rtol=0, atol=1e-6)
        assert item["label"] == (flip_map[recs[i].label] if flipped else recs[i].label)
        flips += flipped
    assert 0 < flips < len(recs)  # both branches were checked


def test_translation_flow_sign_and_flip_label(flow_setup):
    """TranslateLeft content moves left (mean x flow < 0); a flipped sample is relabelled TranslateRight."""
    classes = flow_setup["classes"]
    rec = next(r for r in flow_setup["records"] if CLASSES[r.label] == "TranslateLeft")
    ds = VideoDataset([rec] * 16, RandomClipSampler(1), None, train_transform(32, 28, flip_map=flip_map_from_pairs(
        classes, FLIP_PAIRS)), modality="flow", flow_decoder=flow_setup["flow"], flow_length=5)
    labels, signs = [], []
    for i in range(16):
        item = ds[i]
        assert item["inputs"].shape == (2, 5, 28, 28) and item["inputs"].dtype == torch.float32
        labels.append(classes[item["label"]])
        signs.append(float(item["inputs"][0].mean()) < 0)
    assert set(labels) == {"TranslateLeft", "TranslateRight"}  # both flipped and unflipped draws happened
    assert all((lab == "TranslateLeft") == neg for lab, neg in zip(labels, signs))


def test_fused_multiview_items_short_videos_and_errors(flow_setup):
    recs = flow_setup["records"][:2]
    test = VideoDataset(recs, SegmentSampler(2, random=False), build_decoder("pyav"), eval_transform(32, 28, num_crops=3),
                        modality="rgb+flow", flow_decoder=flow_setup["flow"], flow_length=5)
    item = test[1]
    assert item["inputs"]["rgb"].shape == (3, 3, 2, 28, 28) and item["inputs"]["flow"].shape == (3, 2, 10, 28, 28)
    long = VideoDataset(recs, SegmentSampler(1, random=False), None, eval_transform(32, 28), modality="flow",
                        flow_decoder=flow_setup["flow"], flow_length=20)  # 15 fields: the last one repeats
    fields = long.frame_indices(0, np.random.default_rng(0))["flow"]
    assert fields.tolist() == [list(range(15)) + [14] * 5]
    bad = VideoRecord(str(Path(recs[0].path).with_name("nope.avi")), 0)
    err = VideoDataset([bad], SegmentSampler(1), None, eval_transform(32, 28), modality="flow",
                       flow_decoder=flow_setup["flow"], flow_length=5)[0]
    assert set(err) == {"error", "index"} and "nope.avi" in err["error"]


def test_build_datasets_two_stream_from_a_flow_root(synthetic_root, flow_setup, tmp_path):
    """``data.flow_root`` + ``rgb+flow``: the builder's train/test datasets; the test split's flow is missing,
    so its items are error items naming the video."""
    cfg = data_config(root=synthetic_root, synthetic_kwargs=synthetic_kwargs(synthetic_root), modality="rgb+flow",
                      flow_root=str(flow_setup["flow_root"]), flow_length=5, num_frames=1, resize=32, crop_size=28,
                      test_clips=2, test_crops=10, sampler="random")
    bundle = build_datasets(cfg, seed=1)
    assert bundle.preprocessing["flow_length"] == 5 and bundle.preprocessing["modality"] == "rgb+flow"
    index = next(i for i, r in enumerate(bundle.train.records) if r.path == flow_setup["records"][0].path)
    item = bundle.train[index]
    assert item["inputs"]["rgb"].shape == (3, 1, 28, 28) and item["inputs"]["flow"].shape == (2, 5, 28, 28)
    assert "error" in bundle.val[0]  # no flow was extracted for the test split
