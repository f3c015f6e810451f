"""Smoke test of `tools/benchmark.py models` on a tiny input: it runs and prints the ratio line (no timing asserts)."""

from __future__ import annotations

import re

import pytest

from vidzoo.benchmarks.models import main


def test_models_benchmark_prints_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--models", "r2plus1d_18", "--input", "1,3,2,16,16", "--warmup", "0", "--iters", "1"])
    out = capsys.readouterr().out
    assert re.search(r"^ratio r2plus1d_18 ours/torchvision = \d+\.\d{3}", out, re.M), out
    row = re.search(r"^r2plus1d_18\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$", out, re.M)
    assert row is not None, out
    assert float(row.group(4)) == 0.0  # same weights -> identical outputs


def test_models_benchmark_rejects_unknown_model_and_bad_input() -> None:
    with pytest.raises(SystemExit, match="no torchvision counterpart"):
        main(["--models", "c3d", "--iters", "1"])
    with pytest.raises(SystemExit):
        main(["--input", "1,3,16"])


def test_models_benchmark_verdict_says_pass_fail_or_not_judged() -> None:
    from vidzoo.benchmarks.models import verdict

    assert "PASS" in verdict("r3d_18", 1.01, 9)
    assert "FAIL" in verdict("r3d_18", 1.15, 9)
    low = verdict("r3d_18", 1.15, 2)
    assert "not judged" in low and "PASS" not in low and "FAIL" not in low
