"""Every installed backend agrees on which videos are valid and on what they hold (``decoding/_common.py``).

Edge cases generated here: variable frame rate (mp4 and mkv), grayscale, 1x1, 3 frames, a non-ASCII file name,
and the invalid ones: audio only, a video stream with no frames, a truncated file.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from datasets_tree import write_video

from vidzoo.data.decoding import VideoDecodeError, build_decoder
from vidzoo.data.frame_extraction import extract_frames
from vidzoo.data.sampling import RandomClipSampler

VIDEO_BACKENDS = ["pyav", "opencv", "decord", "torchcodec"]
# 15 frames of 10 ms then 15 of 200 ms: rates from the header (25 or 100 fps) overcount the frames 2.5-fold.
VFR_MS = [10] * 15 + [200] * 15


def _backend_param(name: str):
    try:
        build_decoder(name)
    except ImportError as err:  # only an absent package (or torchcodec's absent FFmpeg libraries) skips
        return pytest.param(name, marks=pytest.mark.skip(reason=f"{name} is not usable here: {err}"))
    return name


BACKENDS = [_backend_param(n) for n in VIDEO_BACKENDS]


def _write_audio_only(path: Path) -> Path:
    """One second of a 16 kHz tone, in a container with an audio stream and no video stream."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000)
        stream.layout = "mono"
        tone = (np.sin(np.arange(16000) / 10) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


def _write_no_frames(path: Path) -> Path:
    """A container with a video stream that holds no frame."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()  # writes the header though no packet follows
    return path


def _write_truncated(path: Path) -> Path:
    """A 60-frame AVI cut after 60% of its bytes: the header still promises 60 frames."""
    data = write_video(path, num_frames=60, size=(64, 96)).read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("edge")
    return {
        "vfr_mp4": write_video(d / "vfr.mp4", num_frames=30, size=(32, 48), durations_ms=VFR_MS),
        "vfr_mkv": write_video(d / "vfr.mkv", num_frames=30, size=(32, 48), durations_ms=VFR_MS),
        "gray": write_video(d / "gray.mkv", num_frames=10, size=(32, 48), codec="ffv1", pix_fmt="gray"),
        "1x1": write_video(d / "one.avi", num_frames=5, size=(1, 1)),
        "3_frames": write_video(d / "three.avi", num_frames=3, size=(32, 32)),
        "non_ascii": write_video(d / "vidéo ü_日本語.avi", num_frames=8, size=(32, 40)),
    }


@pytest.fixture(scope="module")
def invalid(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("invalid")
    return {
        "audio_wav": (_write_audio_only(d / "tone.wav"), "no video stream"),
        "audio_mka": (_write_audio_only(d / "tone ü.mka"), "no video stream"),
        "no_frames": (_write_no_frames(d / "empty_stream.avi"), "no frames"),
        "truncated": (_write_truncated(d / "cut.avi"), "truncated"),
    }


def _reference(path: Path) -> np.ndarray:
    """Every frame in stream order, decoded sequentially with plain PyAV (no backend involved)."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("kind", ["vfr_mp4", "vfr_mkv", "gray", "1x1", "3_frames", "non_ascii"])
def test_valid_edge_videos_decode_alike(name, kind, videos):
    path = str(videos[kind])
    ref = _reference(videos[kind])
    dec = build_decoder(name)
    assert dec.num_frames(path) == len(ref)
    every = list(range(len(ref)))
    out = dec.decode(path, every[::-1] + [len(ref) + 3])  # reversed, and one index past the end
    assert out.dtype == np.uint8 and out.shape == (len(ref) + 1, *ref.shape[1:])
    assert np.abs(out[:-1][::-1].astype(np.int16) - ref).mean() < 2.0  # frame i is the i-th frame, on VFR too
    assert np.array_equal(out[-1], out[0])  # past the end: the last frame
    assert dec.num_frames(path) == len(ref)


@pytest.mark.parametrize("name", BACKENDS)
def test_vfr_rate_is_the_average_on_every_backend(name, videos):
    for kind in ("vfr_mp4", "vfr_mkv"):
        with av.open(str(videos[kind])) as c:
            average = 30 / (c.duration / av.time_base)  # the muxer's duration: frames / (last pts + 1/1000 s)
            assert float(c.streams.video[0].guessed_rate) > 2 * average  # what a rate-times-duration count uses
        assert build_decoder(name).fps(str(videos[kind])) == pytest.approx(average, rel=0.01)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("kind", ["1x1", "3_frames"])
def test_short_and_tiny_videos_fill_clips_by_padding(name, kind, videos):
    path = str(videos[kind])
    dec = build_decoder(name)
    idx = RandomClipSampler(num_frames=8, stride=2, pad="loop")(dec.num_frames(path), np.random.default_rng(0))
    clip = dec.decode(path, idx.reshape(-1))
    assert clip.shape[0] == 8 and clip.shape[-1] == 3


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("kind", ["audio_wav", "audio_mka", "no_frames", "truncated"])
def test_invalid_files_are_one_line_errors_naming_the_file(name, kind, invalid):
    path, reason = invalid[kind]
    dec = build_decoder(name)
    with pytest.raises(VideoDecodeError, match=reason) as err:
        dec.decode(str(path), list(range(8)) + [59])  # a clip that reaches the end the header promises
    assert err.value.path == str(path) and str(err.value).startswith(f"{path}: ")
    assert "\n" not in str(err.value)
    with pytest.raises(VideoDecodeError, match=reason):  # and again (a truncated file stays known as one)
        dec.decode(str(path), [0])


def test_frames_backend_matches_the_videos_it_was_extracted_from(tmp_path, videos):
    dec, pyav = build_decoder("frames"), build_decoder("pyav")
    for kind, video in videos.items():
        folder = tmp_path / kind
        assert extract_frames(video, folder) == pyav.num_frames(str(video))
        assert dec.num_frames(str(folder)) == pyav.num_frames(str(video))
        assert dec.fps(str(folder)) == pytest.approx(pyav.fps(str(video)))
        n = dec.num_frames(str(folder))
        assert dec.decode(str(folder), [0, n - 1, n + 2]).shape == pyav.decode(str(video), [0, n - 1, n + 2]).shape


def test_no_frame_folder_for_invalid_videos(tmp_path, invalid):
    for kind in ("audio_wav", "no_frames"):
        path, reason = invalid[kind]
        with pytest.raises(ValueError, match=reason) as err:
            extract_frames(path, tmp_path / kind)
        assert str(path) in str(err.value) and not (tmp_path / kind).exists()
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(VideoDecodeError, match="no frames") as err:
        build_decoder("frames").decode(str(empty), [0])
    assert err.value.path == str(empty)
