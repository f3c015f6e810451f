"""``tools/benchmark.py metrics`` runs both implementations on tiny data and they print the same scores."""

import pytest

from vidzoo.benchmarks.metrics import main

pytest.importorskip("trackeval")


def test_metrics_benchmark_prints_both_implementations(capsys):
    rows = main(["--sequences", "2", "--frames", "60", "--objects", "4", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "| HOTA | TrackEval 1.3 |" in out and "| CLEAR | vidzoo.eval |" in out
    by = {(r["metric"], r["impl"]): r for r in rows}
    for metric in ("HOTA", "CLEAR"):
        assert by[(metric, "vidzoo.eval")]["score"] == pytest.approx(by[(metric, "TrackEval 1.3")]["score"], abs=1e-9)
        assert by[(metric, "vidzoo.eval")]["seq_per_s"] > 0
