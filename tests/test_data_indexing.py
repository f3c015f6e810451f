"""Dataset index: probing statuses, the JSON cache (reuse and invalidation), resumable frame extraction."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from datasets_tree import write_video
from vidzoo.data import frame_extraction, indexing
from vidzoo.data.frame_extraction import extract_all, extract_frames
from vidzoo.data.indexing import index_videos, probe_video, read_index


def _truncated(path: Path) -> Path:
    write_video(path, num_frames=60, size=(64, 80))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.8)])
    return path


def _zero_length(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), 25, (32, 32))
    writer.release()  # a valid AVI header and no frames
    return path


@pytest.fixture()
def videos(tmp_path) -> dict[str, Path]:
    ok = write_video(tmp_path / "ok.avi", num_frames=30, size=(24, 40), fps=25)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(os.urandom(4000))
    return {
        "ok": ok,
        "empty": empty,
        "truncated": _truncated(tmp_path / "cut.avi"),
        "unreadable": garbage,
        "zero_length": _zero_length(tmp_path / "zero.avi"),
        "missing": tmp_path / "gone.avi",
    }


def test_probe_video_statuses(videos):
    info = probe_video(str(videos["ok"]))
    assert info.ok and info.reason == ""
    assert (info.num_frames, info.fps, info.width, info.height, info.codec) == (30, 25.0, 40, 24, "mpeg4")
    assert info.duration == pytest.approx(1.2) and info.size == videos["ok"].stat().st_size
    for status in ("empty", "truncated", "unreadable", "zero_length", "missing"):
        got = probe_video(str(videos[status]))
        assert got.status == status, (status, got)
        assert got.reason
    assert "header reports 60 frames" in probe_video(str(videos["truncated"])).reason


def test_index_cache_is_reused_and_invalidated(videos, tmp_path, monkeypatch):
    cache = tmp_path / "index.json"
    paths = [str(p) for p in videos.values()]
    first = index_videos(paths, cache, workers=1, progress=False)
    assert (first.cached, first.probed) == (0, 5)  # the missing file is not probed
    assert {v.status for v in first.videos} == {"ok", "empty", "truncated", "unreadable", "zero_length", "missing"}
    assert len(first.problems) == 5 and first.by_status()["ok"][0].path == str(videos["ok"])
    stored = json.loads(cache.read_text())
    assert stored["version"] == indexing.CACHE_VERSION and "ok.avi" in stored["videos"]  # keys relative to the cache

    probed: list[str] = []
    real_probe = indexing.probe_video
    monkeypatch.setattr(indexing, "probe_video", lambda p: probed.append(p) or real_probe(p))
    second = index_videos(paths, cache, workers=1, progress=False)
    assert (second.cached, second.probed) == (5, 0) and probed == []
    assert [v.status for v in second.videos] == [v.status for v in first.videos]

    write_video(videos["ok"], num_frames=40, size=(24, 40))  # changed size/mtime -> probed again
    os.utime(videos["ok"], ns=(1, 1))
    third = index_videos(paths, cache, workers=1, progress=False)
    assert (third.cached, third.probed) == (4, 1) and probed == [str(videos["ok"])]
    assert third.videos[0].num_frames == 40
    index = read_index(cache)
    assert index[str(videos["ok"])].num_frames == 40 and str(videos["missing"]) not in index


def test_index_with_two_processes_matches_one(videos, tmp_path):
    paths = [str(p) for p in videos.values()]
    one = index_videos(paths, None, workers=1, progress=False)
    two = index_videos(paths, tmp_path / "i.json", workers=2, progress=False)
    assert [(v.path, v.status, v.num_frames) for v in two.videos] == [(v.path, v.status, v.num_frames) for v in one.videos]


def test_corrupt_cache_is_rebuilt(videos, tmp_path):
    cache = tmp_path / "index.json"
    cache.write_text("{not json")
    report = index_videos([str(videos["ok"])], cache, progress=False)
    assert report.probed == 1 and json.loads(cache.read_text())["videos"]


def test_extract_frames_resizes_and_writes_meta(videos, tmp_path):
    out = tmp_path / "frames" / "ok"
    assert extract_frames(videos["ok"], out, short_side=12, quality=95) == 30
    names = sorted(os.listdir(out))
    assert names[0] == "img_00001.jpg" and names[-2] == "img_00030.jpg" and names[-1] == "meta.json"
    img = cv2.imread(str(out / "img_00001.jpg"))
    assert img.shape == (12, 20, 3)  # 24x40 -> short side 12, aspect kept
    meta = json.loads((out / "meta.json").read_text())
    assert meta["num_frames"] == 30 and meta["fps"] == 25.0 and (meta["width"], meta["height"]) == (20, 12)
    assert not [n for n in os.listdir(out.parent) if n.startswith(".")]  # no temporary folder left


def test_interrupted_extraction_never_looks_finished(videos, tmp_path, monkeypatch):
    out = tmp_path / "frames" / "ok"
    calls = {"n": 0}
    real = cv2.imwrite

    def failing_imwrite(*a, **k):
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-video
        return real(*a, **k)

    monkeypatch.setattr(frame_extraction.cv2, "imwrite", failing_imwrite)
    with pytest.raises(KeyboardInterrupt):
        extract_frames(videos["ok"], out)
    assert not out.exists() and os.listdir(out.parent) == []
    monkeypatch.setattr(frame_extraction.cv2, "imwrite", real)
    # A temp folder left by a killed process (no cleanup ran) is removed by the next attempt.
    stale = out.parent / ".ok.tmp-99999"
    stale.mkdir()
    (stale / "img_00001.jpg").write_bytes(b"half")
    assert extract_frames(videos["ok"], out) == 30
    assert not stale.exists() and len(os.listdir(out)) == 31


def test_extract_all_resumes_and_reports_failures(videos, tmp_path):
    frames = tmp_path / "rawframes"
    good = write_video(tmp_path / "cls" / "b (1)!.avi", num_frames=5, size=(16, 16))
    vids = [str(videos["ok"]), str(good), str(videos["unreadable"])]
    first = extract_all(vids, tmp_path, frames, short_side=0, workers=2, progress=False)
    assert (first.written, first.skipped, first.frames) == (2, 0, 35)
    assert len(first.failed) == 1 and "garbage.avi" in first.failed[0]
    assert (frames / "cls" / "b (1)!" / "img_00005.jpg").is_file()
    second = extract_all(vids, tmp_path, frames, workers=1, progress=False)
    assert (second.written, second.skipped, len(second.failed)) == (0, 2, 1)
    arr = cv2.imread(str(frames / "ok" / "img_00001.jpg"))
    assert arr.shape == (24, 40, 3) and np.asarray(arr).std() > 10  # short_side=0 keeps the size
