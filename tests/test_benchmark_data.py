"""Smoke test of ``tools/benchmark.py data``: a couple of tiny videos, every row gets numbers (no timing claims)."""

from __future__ import annotations

import re

import pytest

from vidzoo.benchmarks.data import main, make_ucf_like_set
from vidzoo.errors import OutputError


@pytest.mark.slow
def test_benchmark_data_prints_a_table_with_numbers(tmp_path, capsys):
    args = ["--videos", "2", "--min-seconds", "0.8", "--max-seconds", "1.0", "--seconds", "0", "--min-clips", "2",
            "--workers", "1", "--batch-size", "2", "--backends", "pyav", "opencv", "frames",
            "--cache-dir", str(tmp_path)]
    table = main(args)
    out = capsys.readouterr().out
    assert table in out and "UCF101-like set: 2 videos" in out
    rows = [ln for ln in table.splitlines()[2:]]
    assert [r.split("|")[1].strip() for r in rows] == ["pyav (default)", "opencv", "frames", "pytorchvideo 0.1.5 (PyAV)"]
    number = re.compile(r"^\d+\.\d+x?$")
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(number.match(c) for c in cells[1:7]), row  # frames, decoded, 4 rates: all numbers
        assert float(cells[3]) > 0 and float(cells[5]) > 0
    assert rows[0].split("|")[2].strip() == "16.0"  # our sampler returns exactly 16 frames per clip
    assert float(rows[-1].split("|")[2]) > 16  # pytorchvideo decodes every frame of the 1.28 s span


def test_generated_set_is_ucf_like_and_cached(tmp_path):
    import av

    paths = make_ucf_like_set(tmp_path, num_videos=1, min_seconds=1.0, max_seconds=1.0)
    with av.open(str(paths[0])) as c:
        s = c.streams.video[0]
        keys = [p.is_keyframe for p in c.demux(s) if p.size]
        assert (s.width, s.height, int(s.average_rate), s.codec_context.name) == (320, 240, 25, "mpeg4")
        assert s.codec_context.codec_tag == "XVID"
    assert len(keys) == 25 and [i for i, k in enumerate(keys) if k] == [0, 12, 24]
    mtime = paths[0].stat().st_mtime_ns
    assert make_ucf_like_set(tmp_path, num_videos=1, min_seconds=1.0, max_seconds=1.0) == paths
    assert paths[0].stat().st_mtime_ns == mtime  # reused, not rewritten


def test_generated_set_never_writes_into_a_folder_it_did_not_mark(tmp_path):
    (tmp_path / "manifest.json").write_text('{"mine": true}')
    (tmp_path / "v_Bench_g01_c01.avi").write_bytes(b"my own video")
    with pytest.raises(OutputError, match="did not write .no .vidzoo-bench-set.*--cache-dir"):
        make_ucf_like_set(tmp_path, num_videos=1, min_seconds=0.2, max_seconds=0.2)
    assert (tmp_path / "v_Bench_g01_c01.avi").read_bytes() == b"my own video"
    assert (tmp_path / "manifest.json").read_text() == '{"mine": true}'
