"""Multi-task training (``data.joint``): a joint run on two tiny datasets trains in one label space, records its
label blocks, and is evaluated in the primary dataset's classes only; a run without the option is unchanged; bad
``data.joint`` entries are one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from datasets_tree import HMDB_CLASSES, make_hmdb51_tree
from torch import nn
from training_helpers import tiny_overrides

from vidzoo.cli import compose_or_explain
from vidzoo.engine.checkpoint_eval import evaluate_checkpoint
from vidzoo.engine.experiment import build_trainer
from vidzoo.engine.label_blocks import BlockCrossEntropy
from vidzoo.engine.model_loading import load_model
from vidzoo.errors import ConfigValueError
from vidzoo.validation import validate_config

STEPS = ["trainer.epochs=1", "trainer.max_steps_per_epoch=3", "trainer.device=cpu"]


@pytest.fixture(scope="module")
def hmdb_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hmdb51_tree(tmp_path_factory.mktemp("joint") / "hmdb51", num_frames=12)


def _joint(root: Path, **more: str) -> str:
    extra = "".join(f",{k}:{v}" for k, v in more.items())
    return f"data.joint=[{{source:hmdb51,root:{root}{extra}}}]"


def test_joint_run_trains_both_blocks_and_reports_primary_classes(tmp_path, synthetic_root, hmdb_tree):
    hmdb = tmp_path / "hmdb51"
    shutil.copytree(hmdb_tree, hmdb)
    out = tmp_path / "run"
    cfg = compose_or_explain(tiny_overrides(synthetic_root, out, _joint(hmdb), *STEPS))
    validate_config(cfg)
    trainer = build_trainer(cfg)
    primary = list(trainer.class_names)
    blocks = trainer.meta["preprocessing"]["label_blocks"]
    k1 = len(primary)
    assert [(b["source"], b["start"], b["stop"]) for b in blocks] == [("synthetic", 0, k1),
                                                                      ("hmdb51", k1, k1 + len(HMDB_CLASSES))]
    assert blocks[1]["classes"] == HMDB_CLASSES and blocks[0]["classes"] == primary
    assert trainer.meta["model"]["num_classes"] == k1 + 3
    assert isinstance(trainer.loss_fn, BlockCrossEntropy)
    labels = trainer.train_loader.dataset.labels
    assert set(labels) == set(range(k1 + 3))  # every class of both datasets, HMDB51's moved past the primary's
    assert len(trainer.val_loader.dataset) == len(trainer.val_loader.dataset.records)  # the primary test split
    assert {r.path for r in trainer.val_loader.dataset.records}.isdisjoint(str(p) for p in hmdb.rglob("*.avi"))

    report = trainer.fit()
    assert report["steps"] == 3 and report["num_train_videos"] == len(labels)
    assert len(report["confusion_matrix"]) == k1  # scored in the primary classes only
    meta = json.loads((out / "checkpoints" / "epoch_0001" / "meta.json").read_text())
    assert meta["preprocessing"]["label_blocks"] == blocks and meta["class_names"] == primary

    model, names, prep = load_model(out)  # the full joint classifier; the primary block is its first k1 logits
    assert names == primary and prep["label_blocks"][0]["stop"] == k1
    clip = torch.zeros(1, 3, 8, 32, 32)
    assert model(clip).shape == (1, k1 + 3)

    shutil.rmtree(hmdb)  # evaluation reads the primary dataset only
    test = evaluate_checkpoint(str(out), [f"data.root={synthetic_root}"], output=str(tmp_path / "test"),
                               device="cpu", progress=False)
    assert len(test["confusion_matrix"]) == k1 and test["num_videos"] == len(trainer.val_loader.dataset)


def test_run_without_joint_is_unchanged(tmp_path, synthetic_root):
    trainer = build_trainer(compose_or_explain(tiny_overrides(synthetic_root, tmp_path / "run", *STEPS)))
    assert "label_blocks" not in trainer.meta["preprocessing"]
    assert type(trainer.loss_fn) is nn.CrossEntropyLoss
    assert trainer.meta["model"]["num_classes"] == len(trainer.class_names)
    assert type(trainer.train_loader.dataset).__name__ == "VideoDataset"


@pytest.mark.parametrize("joint, message", [
    ("data.joint=[{source:hmdb51}]", "data.joint.0 (hmdb51) needs a root"),
    ("data.joint=[{source:synthetic,root:ROOT}]", "data.joint.0.source=synthetic is already a dataset of this run"),
    ("data.joint=[{source:kinetics,root:ROOT}]", "data.joint.0.source='kinetics': choose one of"),
    ("data.joint=[{source:hmdb51,root:ROOT,modality:flow}]", "data.joint.0.modality=flow differs from data.modality"),
    ("data.joint=[{source:hmdb51,root:ROOT/nothere}]", "is not a directory"),
])
def test_bad_joint_entries_are_one_line_errors(tmp_path, synthetic_root, hmdb_tree, joint, message):
    cfg = compose_or_explain(tiny_overrides(synthetic_root, tmp_path / "run", joint.replace("ROOT", str(hmdb_tree))))
    with pytest.raises(ConfigValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        validate_config(cfg)
    assert "\n" not in str(err.value)


def test_same_dataset_twice_is_refused(tmp_path, hmdb_tree):
    cfg = compose_or_explain(["data=hmdb51", f"data.root={hmdb_tree}", f"trainer.output_dir={tmp_path / 'run'}",
                              "data.joint=[{source:folder,root:" + str(hmdb_tree) + "},{source:hmdb51,root:/tmp}]"])
    with pytest.raises(ConfigValueError, match="data.joint.0.source=folder is already a dataset"):
        validate_config(cfg)


def test_unknown_joint_key_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exc:
        compose_or_explain(["data.joint=[{source:hmdb51,rot:/data/hmdb51}]"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Key 'rot' not in 'JointDataConfig'" in err and "source, root, split" in err and "\n" not in err
