"""The run folder's life through the real entry points: one run per folder (lock), resuming a finished run, kill
leftovers, normal permissions, empty results, unwritable output folders, tiny training sets, no stub folders."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vidzoo.cli import _run_guarded, compose_or_explain
from corrupt_videos import write_corrupt_video
from vidzoo.data.synthetic import generate_synthetic_motions
from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.experiment import build_trainer
from vidzoo.engine.run_folder import open_run_folder, write_records
from vidzoo.errors import EmptyResultsError, OutputError

REPO = Path(__file__).resolve().parents[1]
SET = dict(seed=0, train_per_class=2, test_per_class=1, size=(32, 40), num_frames=16)


def args(root: Path, out: Path, *extra: str) -> list[str]:
    """Overrides for one short c3d_small epoch on the tiny set under ``root``, written to ``out``."""
    return [
        f"data.root={root}", "data.synthetic.seed=0", "data.synthetic.train_per_class=2",
        "data.synthetic.test_per_class=1", "data.synthetic.size=[32,40]", "data.synthetic.num_frames=16",
        "data.resize=32", "data.crop_size=28", "data.num_frames=8", "data.batch_size=8", "data.num_workers=0",
        "model=c3d_small", "trainer.epochs=1", "trainer.max_steps_per_epoch=2", "trainer.tensorboard=false",
        "trainer.progress=false", f"trainer.output_dir={out}", *extra,
    ]


pytestmark = pytest.mark.subprocess  # most tests run tools/train.py and tools/test.py in child processes


def run_tool(tool: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / tool), *argv], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def one_line_error(res: subprocess.CompletedProcess) -> str:
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, (res.returncode, res.stderr[-2000:])
    return lines[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return generate_synthetic_motions(tmp_path_factory.mktemp("set") / "syn", **SET)


@pytest.fixture(scope="module")
def trained(root, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One finished run through ``tools/train.py``, started in an empty working folder."""
    cwd = tmp_path_factory.mktemp("cwd")
    out = tmp_path_factory.mktemp("runs") / "run"
    res = run_tool("train.py", args(root, out), cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not list(cwd.iterdir())  # Hydra wrote nothing beside the run (no .hydra/, no cli.log)
    return out, res


def corrupt_copy(root: Path, dest: Path, subsets: tuple[str, ...]) -> Path:
    """A copy of the set (same manifest: it is used as it is) whose ``subsets`` videos are garbage."""
    shutil.copytree(root, dest)
    for subset, name in (("train", "trainlist01.txt"), ("test", "testlist01.txt")):
        if subset in subsets:
            for line in (dest / "splits" / name).read_text().splitlines():
                write_corrupt_video(dest / "videos" / line.split()[0], "garbage")
    return dest


def test_final_line_and_run_records(trained):
    out, res = trained
    last = res.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\[vidzoo\] final: video_top1 \S+ clip_top1 \S+ \(0 videos failed, 0 skipped\) -> .*", last)
    assert "- model=c3d_small" in (out / ".hydra" / "overrides.yaml").read_text().splitlines()
    assert "cli.log" not in {p.name for p in out.rglob("*")}
    report = json.loads((out / "report.json").read_text())
    assert report["skipped_videos"] == {"count": 0, "paths": []}


def test_test_output_that_is_a_file_is_one_line(trained, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    err = one_line_error(run_tool("test.py", [f"checkpoint={trained[0]}", f"output={afile}", "progress=false"], tmp_path))
    assert f"cannot write {afile}: a file is in the way; or choose another output=" in err
    assert afile.read_text() == "not a folder"


def test_a_second_run_into_a_locked_folder_stops_at_once_naming_the_holder(root, tmp_path):
    out = tmp_path / "run"
    with open_run_folder(out):  # the trainer's own lock, held here as a first run holds it
        err = one_line_error(run_tool("train.py", args(root, out), tmp_path))
        assert f"pid {os.getpid()}" in err and str(out) in err and "choose another trainer.output_dir" in err
        assert sorted(p.name for p in out.iterdir()) == [".vidzoo.lock"]  # the second run wrote nothing
    res = run_tool("train.py", args(root, out), tmp_path)  # released when the holder ends
    assert res.returncode == 0, res.stderr[-2000:]


def test_resuming_a_finished_run_evaluates_again_and_cleans_kill_leftovers(root, tmp_path, capsys):
    out = tmp_path / "run"
    mask = os.umask(0o022)
    try:
        first = build_trainer(compose_or_explain(args(root, out))).fit()
        cdir = out / "checkpoints"
        leftovers = [cdir / ".epoch_0001.old-4242", cdir / ".last.json.k3j_x9a2", out / ".report.json.tmp-1-0badc0de"]
        leftovers[0].mkdir()
        for p in leftovers[1:]:
            p.write_text("{")
        keep = [out / "notes.txt", cdir / ".epoch_0001.old-notes", out / ".mine.json.abcdefgh"]
        for p in keep:
            p.write_text("mine")
        capsys.readouterr()
        again = build_trainer(compose_or_explain(args(root, out, "trainer.resume=true"))).fit()
    finally:
        os.umask(mask)
    assert "already finished epoch 1 of 1" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["video_top1"] == again["video_top1"] == first["video_top1"]
    assert len(report["confusion_matrix"]) == 9 and len(report["per_class_accuracy"]) == 9
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert not any(p.exists() for p in leftovers) and all(p.read_text() == "mine" for p in keep)
    assert out.stat().st_mode & 0o777 == 0o755 and (cdir / "epoch_0001").stat().st_mode & 0o777 == 0o755
    assert (out / "report.json").stat().st_mode & 0o777 == 0o644


def test_every_test_video_failing_stops_train_and_test(root, trained, tmp_path):
    bad = corrupt_copy(root, tmp_path / "bad_test", ("test",))
    with pytest.raises(EmptyResultsError, match=r"no evaluation video could be loaded \(9 failed, first: "):
        build_trainer(compose_or_explain(args(bad, tmp_path / "run"))).fit()
    assert not (tmp_path / "run" / "report.json").exists()
    err = one_line_error(run_tool("test.py", [f"checkpoint={trained[0]}", f"data.root={bad}", "progress=false",
                                              f"output={tmp_path / 'test'}"], tmp_path))
    assert "no evaluation video could be loaded (9 failed" in err and "data.flow_root" in err
    assert not (tmp_path / "test" / "test_report.json").exists()


def test_an_epoch_in_which_every_clip_fails_stops_the_run(root, tmp_path):
    bad = corrupt_copy(root, tmp_path / "bad_all", ("train", "test"))
    err = one_line_error(run_tool("train.py", args(bad, tmp_path / "run"), tmp_path))
    assert re.search(r"epoch 1: no training video could be loaded \(\d+ failed, first: ", err)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_wrong_flow_root_stops_the_run(root, tmp_path):
    argv = [a for a in args(root, tmp_path / "run", f"data.flow_root={tmp_path / 'nowhere'}", "data.num_frames=1")
            if a not in ("model=c3d_small", "data.num_frames=8")]
    message = r"epoch 1: no training video could be loaded \(16 failed, first: .*: no flow in "  # 2 steps x 8
    with pytest.raises(EmptyResultsError, match=message):
        build_trainer(compose_or_explain([*argv, "model=two_stream_temporal_small"])).fit()


def test_a_training_set_smaller_than_one_batch_still_trains(root, tmp_path):
    trainer = build_trainer(compose_or_explain(args(root, tmp_path / "run", "data.batch_size=64")))
    assert len(trainer.train_loader.dataset) == 18 and len(trainer.train_loader) == 1
    trainer.fit()
    assert trainer.state.step == 1 and trainer.state.history[0]["train_clips_per_s"] > 0


def test_a_run_that_fails_before_training_leaves_no_folder(root, tmp_path):
    out = tmp_path / "never"
    err = one_line_error(run_tool("train.py", args(root, out, "data.sampler=nope"), tmp_path))
    assert "data.sampler" in err
    assert os.listdir(tmp_path) == []  # neither the run folder nor Hydra's .hydra/ or cli.log


def test_output_dir_that_is_a_file_holds_other_files_or_is_read_only(root, tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    err = one_line_error(run_tool("train.py", args(root, afile), tmp_path))
    assert f"trainer.output_dir={afile}" in err and "is a file" in err and afile.read_text() == "not a folder"
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "report.json").write_text("their report")
    err = one_line_error(run_tool("train.py", args(root, theirs), tmp_path))
    assert f"{theirs} already holds report.json" in err and (theirs / "report.json").read_text() == "their report"
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root ignores chmod: simulate a read-only folder
    with pytest.raises(OutputError, match=rf"{tmp_path} is not writable \(read-only\)"):
        build_trainer(compose_or_explain(args(root, tmp_path / "ro")))


def test_disk_full_while_writing_a_checkpoint_is_one_line_naming_it(root, tmp_path, monkeypatch, capsys):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    trainer = build_trainer(compose_or_explain(args(root, tmp_path / "run")))
    monkeypatch.setattr(ckpt, "save_file", full)
    with pytest.raises(SystemExit) as exit_info:
        _run_guarded("vidzoo-train", trainer.fit)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert re.search(r"cannot write .*checkpoints/epoch_0001: no space left on the device", err[0])
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == []  # no half checkpoint


def test_records_are_rewritten_by_a_fresh_run_and_kept_by_a_resumed_one(tmp_path):
    record = tmp_path / ".hydra" / "overrides.yaml"
    write_records(tmp_path, {".hydra/overrides.yaml": "- model=c3d_small\n"}, fresh=True)
    write_records(tmp_path, {".hydra/overrides.yaml": "- trainer.resume=true\n"}, fresh=False)
    assert record.read_text() == "- model=c3d_small\n"  # how the resumed run was started
    write_records(tmp_path, {".hydra/overrides.yaml": "- model=r3d_small\n"}, fresh=True)
    assert record.read_text() == "- model=r3d_small\n"
