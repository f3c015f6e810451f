"""``tools/prepare_dataset.py``: index a UCF101-/HMDB51-shaped tree, report broken videos, reuse the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datasets_tree import make_hmdb51_tree, make_ucf101_tree, write_video
from vidzoo.data.annotations import load_split
from vidzoo.data.decoding import build_decoder
from vidzoo.data.prepare import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def broken_ucf(tmp_path) -> Path:
    root = make_ucf101_tree(tmp_path / "ucf", groups=2, clips=1)
    videos = root / "UCF-101" / "YoYo"
    (videos / "v_YoYo_g01_c01.avi").write_bytes(b"")  # zero bytes
    cut = write_video(videos / "v_YoYo_g02_c01.avi", num_frames=60, size=(64, 80))
    cut.write_bytes(cut.read_bytes()[: int(cut.stat().st_size * 0.8)])  # truncated download
    (root / "UCF-101" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g02_c01.avi").unlink()
    return root


def test_reports_zero_byte_truncated_and_missing_videos_then_reuses_cache(broken_ucf, capsys):
    assert main(["--source", "ucf101", "--root", str(broken_ucf), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "indexed 6 videos (0 from the cache, 5 probed)" in out
    assert "ok: 3  missing: 1  empty: 1  zero_length: 0  unreadable: 0  truncated: 1" in out
    assert "problems (3):" in out
    assert "v_YoYo_g01_c01.avi: empty file (0 bytes)" in out
    assert "v_YoYo_g02_c01.avi: the header reports 60 frames but the file holds" in out
    assert "v_ApplyEyeMakeup_g02_c01.avi: file not found" in out
    assert "size: 32x32 (3)" in out and "codec: mpeg4 (3)" in out
    cache = broken_ucf / "vidzoo_index.json"
    assert len(json.loads(cache.read_text())["videos"]) == 5

    assert main(["--source", "ucf101", "--root", str(broken_ucf), "--no-progress", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "indexed 6 videos (5 from the cache, 0 probed)" in out and "truncated: 1" in out

    fixed = broken_ucf / "UCF-101" / "YoYo" / "v_YoYo_g01_c01.avi"
    write_video(fixed, num_frames=8)
    assert main(["--source", "ucf101", "--root", str(broken_ucf), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "(4 from the cache, 1 probed)" in out and "ok: 4" in out and "empty: 0" in out


def test_extracts_frames_resumably_for_hmdb51(tmp_path, capsys):
    root = make_hmdb51_tree(tmp_path / "hmdb", num_frames=6)
    args = ["--source", "hmdb51", "--root", str(root), "--split", "1", "2", "3", "--workers", "2",
            "--frames", "rawframes", "--short-side", "16", "--no-progress", "--cache", str(tmp_path / "idx.json")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "indexed 12 videos" in out and "frames: 12 folders written (72 frames), 0 already done, 0 failed" in out
    odd = root / "rawframes" / "cartwheel" / "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0"
    assert sorted(os.listdir(odd))[:2] == ["img_00001.jpg", "img_00002.jpg"]
    assert main(args) == 0
    assert "frames: 0 folders written (0 frames), 12 already done" in capsys.readouterr().out
    # load_split points records at the folders and the frames backend reads them at the new size.
    records, classes = load_split("hmdb51", root, 1, "train", frames_dir="rawframes")
    assert len(records) == 6 and classes == ["brush_hair", "cartwheel", "pour"]
    clip = build_decoder("frames").decode(records[0].path, [0, 5, 9])
    assert clip.shape == (3, 16, 16, 3)


def test_thin_cli_script_runs(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", groups=1, clips=1)
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "prepare_dataset.py"), "--source", "ucf101",
                           "--root", str(root), "--no-progress", "--strict"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "indexed 3 videos (0 from the cache, 3 probed)" in proc.stdout and "ok: 3" in proc.stdout


def test_bad_root_names_the_problem(tmp_path, capsys):
    assert main(["--source", "ucf101", "--root", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vidzoo-prepare-dataset: error: cannot find the split dir under") and "data.root" in err
