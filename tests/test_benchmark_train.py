"""``tools/benchmark.py train`` runs on CPU (tiny model/input) and prints its table; no timing asserted."""

from vidzoo.benchmarks.train import MODES, format_table, main


def test_train_benchmark_prints_table_for_baseline_and_fast_path(capsys):
    rows = main(["--model", "c3d_small", "--batch", "2", "--frames", "4", "--size", "32", "--steps", "2",
                 "--warmup", "1", "--modes", "fp32,bf16", "--device", "cpu", "--num-classes", "5"])
    out = capsys.readouterr().out
    assert [r["mode"] for r in rows][0] == MODES["fp32"].name
    assert "| compute-bound | fp32 eager |" in out and "GFLOPs forward per clip" in out
    assert all(r["clips_per_s"] > 0 and r["tflops"] > 0 and r["mfu"] is None for r in rows)
    assert "n/a" in format_table(rows, "cpu")
