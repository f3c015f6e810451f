"""End to end through the shared trainer on a tiny synthetic-motions set: reports, pictures,
load_model in a fresh process, resume after SIGKILL, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vidzoo.cli import compose_or_explain
from vidzoo.config import SyntheticConfig
from vidzoo.errors import ConfigValueError
from vidzoo.engine.experiment import build_trainer, default_data_root, synthetic_kwargs

from training_helpers import REPO, TRAIN_SET, make_train_set, overrides, run_train as run_tool



@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return make_train_set(tmp_path_factory.mktemp("tiny"))


@pytest.mark.subprocess
def test_train_writes_report_pictures_and_loads_in_fresh_process(tiny_root, tmp_path):
    out = tmp_path / "run"
    trainer = build_trainer(compose_or_explain(overrides(tiny_root, out, "trainer.tensorboard=true")))
    report = trainer.fit()
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["video_top1"] == report["video_top1"] and 0.0 <= report["video_top1"] <= 1.0
    assert len(report["per_class_accuracy"]) == 9 and report["num_videos"] == 9 * TRAIN_SET["test_per_class"]
    assert report["num_train_videos"] == 9 * TRAIN_SET["train_per_class"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(ln)["epoch"] for ln in lines] == [1, 2]
    for picture in ("curves.png", "confusion.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((out / "tb").iterdir())

    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 56, 56)
    torch.save(x, tmp_path / "x.pt")
    trainer.raw_model.eval()
    with torch.no_grad():
        expected = trainer.raw_model(x)
    code = (
        "import sys, torch, vidzoo\n"
        f"torch.set_num_threads({torch.get_num_threads()})\n"  # same kernels' summation order as this process
        f"model, classes, prep = vidzoo.load_model({str(out)!r}, which='last')\n"
        "assert not model.training and len(classes) == 9 and prep['num_frames'] == 8, (classes, prep)\n"
        f"x = torch.load({str(tmp_path / 'x.pt')!r})\n"
        f"torch.save(model(x).detach(), {str(tmp_path / 'y.pt')!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)
    assert torch.equal(torch.load(tmp_path / "y.pt"), expected)


@pytest.mark.subprocess
def test_sigkill_after_a_checkpoint_then_resume_matches_uninterrupted(tiny_root, tmp_path):
    common = ["trainer.epochs=3", "data.num_workers=1"]
    ref = run_tool(overrides(tiny_root, tmp_path / "ref", *common))
    assert ref.returncode == 0, ref.stderr[-2000:]

    killed_dir = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "train.py"),
                             *overrides(tiny_root, killed_dir, *common)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    metrics = killed_dir / "metrics.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:  # killed as soon as epoch 1 is checkpointed and logged
        if (killed_dir / "checkpoints" / "last.json").is_file() and metrics.is_file():
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed_dir / "report.json").exists(), "the run finished before it could be killed"
    resumed = run_tool(overrides(tiny_root, killed_dir, *common, "trainer.resume=true"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout

    a = json.loads((tmp_path / "ref" / "report.json").read_text())
    b = json.loads((killed_dir / "report.json").read_text())
    for key in ("video_top1", "video_top5", "clip_top1", "confusion_matrix", "steps"):
        assert a[key] == b[key], key
    hist_a = [json.loads(x) for x in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    hist_b = [json.loads(x) for x in metrics.read_text().splitlines()]
    assert [h["train_loss"] for h in hist_a] == [h["train_loss"] for h in hist_b]  # no duplicate epoch lines


def test_resume_refuses_a_checkpoint_of_another_model(tiny_root, tmp_path):
    out = tmp_path / "run"
    first = run_tool(overrides(tiny_root, out, "trainer.epochs=1", "trainer.max_steps_per_epoch=2"))
    assert first.returncode == 0, first.stderr[-2000:]
    again = run_tool(overrides(tiny_root, out, "trainer.epochs=1"))
    assert again.returncode == 2 and "trainer.resume=true" in again.stderr
    other = run_tool(overrides(tiny_root, out, "trainer.epochs=2", "trainer.resume=true", "+model.kwargs.width=0.25"))
    err = other.stderr.strip().splitlines()[-1]
    assert other.returncode == 2 and "was trained as model" in err and "another trainer.output_dir" in err


@pytest.mark.parametrize(
    "bad, expected",
    [
        ("data.num_frame=8", "did you mean data.num_frames"),
        ("model=no_such_model", "choose one of:"),
        ("trainer.epoch=3", "did you mean trainer.epochs"),
    ],
)
def test_config_mistakes_fail_fast_with_one_line(bad, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        compose_or_explain([bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and bad.split("=")[0] in err


def test_corrupt_videos_are_skipped_counted_and_listed(tiny_root, tmp_path):
    import shutil

    from corrupt_videos import write_corrupt_video

    root = tmp_path / "synthetic"
    shutil.copytree(tiny_root, root)
    train_line = (root / "splits" / "trainlist01.txt").read_text().split()[0]
    test_line = (root / "splits" / "testlist01.txt").read_text().split()[0]
    broken = [root / "videos" / train_line, root / "videos" / test_line]
    write_corrupt_video(broken[0], "header", source=broken[0])
    write_corrupt_video(broken[1], "empty")
    out = tmp_path / "run"
    res = run_tool(overrides(root, out, "trainer.epochs=1"))
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["failed_videos"]["count"] == 2
    listed = " ".join(report["failed_videos"]["paths"])
    assert all(str(p) in listed for p in broken)
    assert report["num_videos"] == 9 * TRAIN_SET["test_per_class"] - 1


def test_tools_test_evaluates_a_checkpoint_with_more_views(tiny_root, tmp_path):
    out = tmp_path / "run"
    assert run_tool(overrides(tiny_root, out, "trainer.epochs=1", "trainer.max_steps_per_epoch=2")).returncode == 0
    res = subprocess.run([sys.executable, str(REPO / "tools" / "test.py"), f"checkpoint={out}", "data.test_clips=2",
                          "data.test_crops=3", f"output={tmp_path / 'eval'}", "progress=false"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "eval" / "test_report.json").read_text())
    n = 9 * TRAIN_SET["test_per_class"]
    assert report["num_videos"] == n and report["num_clips"] == n * 2 * 3
    assert set(report) >= {"video_top1", "video_top5", "clip_top1", "clip_top5", "per_class_accuracy", "confusion_matrix"}
    assert (tmp_path / "eval" / "confusion.png").is_file()
    bad = subprocess.run([sys.executable, str(REPO / "tools" / "test.py"), f"checkpoint={tmp_path / 'none'}"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and "checkpoint not found" in bad.stderr.strip().splitlines()[-1]


def test_each_synthetic_setting_is_cached_in_its_own_folder(monkeypatch, tmp_path):
    """A recipe with more training videos must not regenerate (and replace) the default dataset."""
    monkeypatch.setenv("VIDZOO_CACHE", str(tmp_path))
    defaults = synthetic_kwargs(SyntheticConfig())
    assert default_data_root("synthetic", defaults) == default_data_root("synthetic") == str(tmp_path / "synthetic_motions")
    more = default_data_root("synthetic", {**defaults, "train_per_class": 120})
    assert more == str(tmp_path / "synthetic_motions-train_per_class120")
    other = default_data_root("synthetic", {**defaults, "seed": 3, "size": [48, 64]})
    assert other == str(tmp_path / "synthetic_motions-seed3-size48x64")


@pytest.mark.parametrize("source", ["ucf101", "hmdb51", "folder"])
def test_a_real_dataset_without_root_is_refused_not_replaced_by_the_synthetic_one(source, tmp_path):
    """The synthetic cache has UCF101's layout: silently reading it for data.source=ucf101 would train on it."""
    cfg = compose_or_explain([f"data.source={source}", f"trainer.output_dir={tmp_path / 'run'}"])
    with pytest.raises(ConfigValueError, match=f"data.source={source} needs data.root"):
        build_trainer(cfg)
