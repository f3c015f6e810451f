"""Decoder backends (opencv, decord, torchcodec, JPEG frames) agree with pyav and fail with VideoDecodeError."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest

from datasets_tree import write_video
from vidzoo.data.decoding import VideoDecodeError, build_decoder
from vidzoo.data.frame_extraction import extract_frames

VIDEO_BACKENDS = ["opencv", "decord", "torchcodec"]
INDICES = [0, 3, 3, 17, 30, 31, 44, 59, 12]  # unsorted, repeated, across several GOPs (keyframe every 12)


def _usable(name: str) -> bool:
    try:
        build_decoder(name)
    except ImportError:
        return False
    return True


def backend_param(name: str):
    return pytest.param(name, marks=pytest.mark.skipif(not _usable(name), reason=f"{name} is not installed/usable"))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return str(write_video(tmp_path_factory.mktemp("v") / "clip.avi", num_frames=60, size=(48, 64), gop=12))


@pytest.fixture(scope="module")
def reference(video):
    return build_decoder("pyav").decode(video, INDICES)


@pytest.mark.parametrize("name", [backend_param(n) for n in VIDEO_BACKENDS])
def test_backend_decodes_the_same_frames_as_pyav(name, video, reference):
    dec = build_decoder(name)
    assert dec.num_frames(video) == 60 and dec.fps(video) == pytest.approx(25.0)
    out = dec.decode(video, INDICES)
    assert out.dtype == np.uint8 and out.shape == (len(INDICES), 48, 64, 3)
    assert np.abs(out.astype(np.int16) - reference).mean() < 3.0
    # The frames really differ across indices (a backend returning one frame for all would fail above too).
    assert np.abs(out[0].astype(np.int16) - out[4]).mean() > 5.0


@pytest.mark.parametrize("name", [backend_param(n) for n in VIDEO_BACKENDS] + ["pyav"])
def test_indices_past_the_end_repeat_the_last_frame(name, video, reference):
    dec = build_decoder(name)
    out = dec.decode(video, [59, 60, 75])
    assert np.abs(out.astype(np.int16) - reference[7]).mean() < 3.0


@pytest.mark.parametrize("name", [backend_param(n) for n in VIDEO_BACKENDS])
def test_broken_files_raise_video_decode_error(name, tmp_path):
    dec = build_decoder(name)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"not a video at all " * 50)
    for path, reason in ((tmp_path / "nope.avi", "file not found"), (empty, "empty file"),
                         (garbage, "cannot open|decoding failed")):
        with pytest.raises(VideoDecodeError, match=reason) as err:
            dec.decode(str(path), [0, 1])
        assert err.value.path == str(path)


@pytest.mark.parametrize("name", [backend_param(n) for n in VIDEO_BACKENDS])
def test_backend_pickles_for_dataloader_workers(name, video):
    dec = build_decoder(name)
    dec.num_frames(video)
    clone = pickle.loads(pickle.dumps(dec))
    assert clone.decode(video, [5]).shape == (1, 48, 64, 3)


def test_opencv_seeks_exactly_on_a_long_video(tmp_path):
    path = str(write_video(tmp_path / "long.avi", num_frames=150, size=(32, 48), gop=12))
    idx = [140, 141, 100, 12, 13, 149]
    ref = build_decoder("pyav").decode(path, idx)
    out = build_decoder("opencv", seek_threshold=4).decode(path, idx)
    assert np.abs(out.astype(np.int16) - ref).mean() < 3.0


def test_opencv_reports_a_truncated_video(tmp_path):
    path = write_video(tmp_path / "t.avi", num_frames=60, size=(64, 80))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.8)])
    dec = build_decoder("opencv")
    with pytest.raises(VideoDecodeError, match="truncated"):
        dec.decode(str(path), [50])


def test_frames_backend_reads_extracted_folders(tmp_path, video, reference):
    folder = tmp_path / "rawframes" / "clip"
    assert extract_frames(video, folder) == 60
    dec = build_decoder("frames")
    assert dec.num_frames(str(folder)) == 60 and dec.fps(str(folder)) == pytest.approx(25.0)
    out = dec.decode(str(folder), INDICES)
    assert out.shape == (len(INDICES), 48, 64, 3)
    assert np.abs(out.astype(np.int16) - reference).mean() < 4.0  # JPEG quality 90 on top of the codec
    assert np.abs(dec.decode(str(folder), [80]).astype(np.int16) - reference[7]).mean() < 4.0


def test_frames_backend_without_meta_counts_files_and_reports_gaps(tmp_path, video):
    folder = tmp_path / "f"
    extract_frames(video, folder)
    (folder / "meta.json").unlink()
    (folder / "img_00010.jpg").unlink()
    dec = build_decoder("frames", default_fps=30.0)
    assert dec.num_frames(str(folder)) == 59 and dec.fps(str(folder)) == 30.0
    with pytest.raises(VideoDecodeError, match="img_00010.jpg"):
        dec.decode(str(folder), [8, 9])
    with pytest.raises(VideoDecodeError, match="frame folder not found"):
        dec.decode(str(tmp_path / "missing"), [0])
    with pytest.raises(VideoDecodeError, match="is a video file, not a frame folder"):
        dec.decode(video, [0])


@pytest.mark.skipif(_usable("torchcodec"), reason="torchcodec is usable here")
def test_torchcodec_missing_says_what_to_install():
    with pytest.raises(ImportError, match="torchcodec"):
        build_decoder("torchcodec")


@pytest.mark.skipif(importlib.util.find_spec("decord") is not None, reason="decord is installed")
def test_decord_missing_says_what_to_install():
    with pytest.raises(ImportError, match="pip install decord"):
        build_decoder("decord")
