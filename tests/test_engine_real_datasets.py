"""``data=ucf101`` and ``data=hmdb51`` configs train one step and evaluate on generated trees in the official layouts."""

from __future__ import annotations

import json

import pytest
from datasets_tree import HMDB_CLASSES, UCF_CLASSES, make_hmdb51_tree, make_ucf101_tree

from vidzoo.cli import compose_or_explain
from vidzoo.engine.experiment import build_trainer

TINY = ["model=c3d_small", "data.num_frames=4", "data.stride=1", "data.resize=32", "data.crop_size=28", "data.test_clips=2",
        "data.batch_size=4", "data.num_workers=0", "trainer.epochs=1", "trainer.max_steps_per_epoch=1",
        "trainer.progress=false", "trainer.tensorboard=false"]


@pytest.mark.parametrize("source, split, make, classes", [
    ("ucf101", 1, make_ucf101_tree, [c for c, _ in UCF_CLASSES]),
    ("hmdb51", 2, make_hmdb51_tree, sorted(HMDB_CLASSES)),
])
def test_one_step_and_evaluation(tmp_path, source, split, make, classes):
    root = make(tmp_path / source)
    out = tmp_path / "run"
    cfg = compose_or_explain([f"data={source}", f"data.root={root}", f"data.split={split}", *TINY,
                              f"trainer.output_dir={out}"])
    assert cfg.data.source == source and cfg.data.test_crops == 1
    trainer = build_trainer(cfg)
    assert trainer.class_names == classes
    report = trainer.fit()
    assert report["steps"] == 1 and report["num_videos"] == len(trainer.val_loader.dataset) > 0
    assert report["num_clips"] == 2 * report["num_videos"]
    assert json.loads((out / "report.json").read_text())["failed_videos"]["count"] == 0
