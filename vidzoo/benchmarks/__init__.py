"""Benchmarks: one module per suite, each with ``main(argv)``; run through tools/benchmark.py."""
