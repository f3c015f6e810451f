"""``vidzoo-stream`` end to end on the tiny synthetic set: base phase through the shared trainer, every learner,
report and plot; bad input gets one line on stderr and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import TINY_SYNTHETIC
from vidzoo.streaming.cli import main

TINY = [f"data.synthetic.{k}={list(v) if isinstance(v, tuple) else v}" for k, v in TINY_SYNTHETIC.items()]
FAST = ["data.num_workers=0", "data.batch_size=4", "data.test_clips=1", "trainer.epochs=1",
        "trainer.max_steps_per_epoch=2", "trainer.progress=false", "progress=false", "clips_per_video=2"]


def _args(root: Path, out: Path, *extra: str) -> list[str]:
    return [f"data.root={root}", f"output_dir={out}", *TINY, *FAST, *extra]


@pytest.fixture(scope="module")
def stream_run(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stream") / "run"
    main(_args(synthetic_root, out, "streaming=all", "ordering=class_iid"))
    return out


def test_report_plot_and_base_run(stream_run: Path) -> None:
    report = json.loads((stream_run / "stream_report.json").read_text())
    assert report["base_classes"] == ["Still", "TranslateLeft", "TranslateRight", "TranslateUp"]
    assert len(report["stream_classes"]) == 5 and report["stream_examples"] == 5 * 3 * 2
    assert set(report["learners"]) == {"slda", "exstream", "remind", "finetune", "offline"}
    for name, r in report["learners"].items():
        assert r["examples_seen"] == [0, 6, 12, 18, 24, 30], name  # after the base and after each class
        assert len(r["accuracy"]) == 6 and all(0.0 <= a <= 1.0 for a in r["accuracy"])
        assert r["memory_bytes"] > 0 and r["updates_per_s"] > 0
        assert set(r["forgetting"]) <= set(report["base_classes"]) | set(report["stream_classes"])
    assert report["learners"]["offline"]["omega"] == pytest.approx(1.0)
    assert (stream_run / "stream_accuracy.png").stat().st_size > 10_000
    assert (stream_run / "base" / "report.json").is_file()  # the shared trainer's own run


def _fails(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("vidzoo-stream: error:"), err
    return err


def test_backbone_of_another_input_size_is_one_line(stream_run: Path, synthetic_root: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    err = _fails(capsys, _args(synthetic_root, tmp_path / "o", f"backbone_checkpoint={stream_run / 'base'}",
                               "data.crop_size=48"))
    assert "was trained on 8-frame 56x56 clips" in err and "data.crop_size=56" in err


def test_unknown_stream_class_refused_when_asked(stream_run: Path, synthetic_root: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    err = _fails(capsys, _args(synthetic_root, tmp_path / "o", f"backbone_checkpoint={stream_run / 'base'}",
                               "streaming.new_classes=refuse", "streaming.baselines=[]"))
    assert "not told about" in err and "streaming.new_classes=add" in err


def test_bad_overrides_and_an_existing_output_dir(stream_run: Path, synthetic_root: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert "choose one of: all, exstream, remind, slda" in _fails(capsys, ["streaming=nope"])
    assert "choose from slda, exstream, remind" in _fails(
        capsys, _args(synthetic_root, stream_run.parent / "x", "streaming.learners=[lda]"))
    assert "already exists" in _fails(capsys, _args(synthetic_root, stream_run))


def test_cfg_job_prints_the_composed_config_without_running(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--cfg", "job", "streaming=remind", "ordering=instance"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "layer: features.pool4" in out and "ordering: instance" in out and "- remind" in out
