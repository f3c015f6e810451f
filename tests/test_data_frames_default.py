"""``data.decoder=frames`` finds the folders ``prepare_dataset --frames rawframes`` wrote, with no extra key."""

from __future__ import annotations

import json

import pytest
from datasets_tree import data_config, make_ucf101_tree
from training_helpers import run_train

from vidzoo.data.builder import build_datasets
from vidzoo.data.prepare import main as prepare_dataset
from vidzoo.errors import ConfigValueError

pytestmark = pytest.mark.subprocess  # training runs in child processes (tools/train.py)

TINY = ["data=ucf101", "data.decoder=frames", "model=c3d_small", "data.num_frames=4", "data.stride=1", "data.resize=32",
        "data.crop_size=28", "data.batch_size=4", "data.num_workers=0", "trainer.epochs=1",
        "trainer.max_steps_per_epoch=2", "trainer.progress=false", "trainer.tensorboard=false"]


def test_frames_written_by_prepare_dataset_train_without_extra_keys(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", num_frames=8)
    assert prepare_dataset(["--source", "ucf101", "--root", str(root), "--frames", "rawframes", "--workers", "1",
                            "--no-progress"]) == 0
    out = tmp_path / "run"
    proc = run_train([f"data.root={root}", f"trainer.output_dir={out}", *TINY])
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["steps"] == 2 and report["failed_videos"]["count"] == 0
    epoch = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert epoch["train_loss"] > 0.0
    assert 0.0 <= report["video_top1"] <= 1.0  # evaluated on real clips, not NaN


def test_frames_folder_missing_is_one_line_naming_key_and_command(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", num_frames=8)
    proc = run_train([f"data.root={root}", f"trainer.output_dir={tmp_path / 'run'}", *TINY])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{root / 'rawframes'}, which does not exist" in lines[0]
    assert f"vidzoo-prepare-dataset --source ucf101 --root {root} --frames rawframes" in lines[0]
    assert "+data.extra.frames_dir=" in lines[0]
    assert not (tmp_path / "run" / "report.json").exists()


def test_an_explicit_frames_dir_that_is_missing_names_itself(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", num_frames=8)
    with pytest.raises(ConfigValueError, match=r"frames128, which does not exist: .*--frames frames128'"):
        build_datasets(data_config(source="ucf101", root=root, decoder="frames", frames_dir="frames128"))
    video_ds = build_datasets(data_config(source="ucf101", root=root, decoder="pyav")).train  # other decoders: videos, no check
    assert video_ds.records[0].path.endswith(".avi")
