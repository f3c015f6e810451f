"""``tools/benchmark.py SUITE --quick``: the suite's own smoke arguments, appended so that they win."""

from __future__ import annotations

import argparse

import pytest

from vidzoo.benchmarks import SUITES, expand_quick, run


def test_quick_appends_the_suite_args_last_so_they_override() -> None:
    from vidzoo.benchmarks.models import QUICK_ARGS

    argv = expand_quick("models", ["--iters", "9", "--quick", "--models", "r3d_18"])
    assert argv == ["--iters", "9", "--models", "r3d_18", *QUICK_ARGS]
    p = argparse.ArgumentParser()
    p.add_argument("--iters", type=int)
    p.add_argument("--models")
    p.add_argument("--input")
    p.add_argument("--warmup", type=int)
    assert p.parse_args(argv).iters == 1  # the quick value wins over the user's 9
    assert expand_quick("models", ["--iters", "9"]) == ["--iters", "9"]


@pytest.mark.parametrize("suite", SUITES)
def test_every_suite_declares_quick_args(suite: str) -> None:
    import importlib

    quick = importlib.import_module(f"vidzoo.benchmarks.{suite}").QUICK_ARGS
    assert quick and all(isinstance(a, str) for a in quick)


def test_unknown_suite_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["nonsense"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "one of data, flow, models, train, metrics, streaming" in err
