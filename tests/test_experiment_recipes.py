"""The paper recipes ``configs/experiment/*_{ucf101,hmdb51}.yaml`` compose against the schema with their own values,
and each runs two training steps and an evaluation on a generated official-layout tree (shrunk for speed); the
fine-tuning recipes (``*_ft_*``) start from a stand-in weights file of the same net with Kinetics' 400 classes."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets_tree import make_hmdb51_tree, make_ucf101_tree
from omegaconf import OmegaConf

from vidzoo.cli import compose_or_explain
from vidzoo.engine.experiment import build_model_from_config, build_trainer
from vidzoo.validation import validate_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "vidzoo" / "configs" / "experiment"
RECIPES = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml") if p.stem.endswith(("_ucf101", "_hmdb51")))
#: Smaller nets of the same builder for the two steps (the recipes' own sizes are checked on the composed config).
SHRINK = {"c3d": ["++model.kwargs.width=0.125", "++model.kwargs.fc_dim=32"],
          "r2plus1d": ["++model.kwargs.width=0.125"],
          "two_stream_conv": ["model.kwargs.backbone=small", "++model.kwargs.pool_frames=2"],  # 2 frames per clip below
          "two_stream": ["model.kwargs.backbone=small"]}
TINY = ["data.resize=36", "data.crop_size=32", "data.batch_size=2", "data.num_workers=0", "data.test_clips=1",
        "trainer.epochs=1", "trainer.max_steps_per_epoch=2", "trainer.progress=false", "trainer.tensorboard=false",
        "trainer.device=cpu"]


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("recipe_trees")
    return {"ucf101": make_ucf101_tree(base / "ucf101"), "hmdb51": make_hmdb51_tree(base / "hmdb51", num_frames=12)}


def test_every_family_has_both_datasets():
    stems = {r.rsplit("_", 1)[0] for r in RECIPES}
    assert {"c3d", "r2plus1d_18", "r2plus1d_34", "r2plus1d_18_ft", "r2plus1d_34_ft", "two_stream_spatial", "two_stream_temporal", "two_stream_late",
            "two_stream_conv"} <= stems
    assert all(f"{s}_ucf101" in RECIPES and f"{s}_hmdb51" in RECIPES for s in stems)


def _stand_in_weights(name: str, kwargs: dict, path: Path) -> str:
    """A weights file of model ``name`` built with ``kwargs`` for 400 classes (as imported Kinetics weights are)."""
    from safetensors.torch import save_file

    net = build_model_from_config(name, kwargs, 400)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return str(path)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_composes_and_runs_two_steps(tmp_path, trees, name, capsys):
    source = name.rsplit("_", 1)[1]
    own = OmegaConf.load(EXPERIMENTS / f"{name}.yaml")
    assert "Paper number" in (EXPERIMENTS / f"{name}.yaml").read_text()  # the header states what it should reach
    joint = _joint_roots(name, trees)
    fine_tune = "_ft_" in name
    assert bool(own.model.get("init_weights")) == fine_tune  # fine-tuning recipes name the weights they start from
    init = [f"model.init_weights={tmp_path / 'none.safetensors'}"] if fine_tune else []
    (tmp_path / "none.safetensors").touch()
    cfg = compose_or_explain([f"experiment={name}", f"data.root={trees[source]}", *joint, "trainer.output_dir=unused",
                              *init])
    validate_config(cfg)
    assert cfg.data.source == source
    for group in ("model", "data", "optim", "sched", "trainer"):  # the recipe's values win over the defaults
        for key, value in own.get(group, {}).items():
            if key not in ("kwargs", "joint", "init_weights"):
                assert cfg[group][key] == value, f"{name}: {group}.{key}"
    assert [e.source for e in cfg.data.joint] == [e.source for e in own.get("data", {}).get("joint", [])]
    for key, value in own.model.kwargs.items():
        assert cfg.model.kwargs[key] == value, f"{name}: model.kwargs.{key}"

    shrink = next(v for k, v in SHRINK.items() if name.startswith(k))
    out = tmp_path / "run"
    cfg = compose_or_explain([f"experiment={name}", f"data.root={trees[source]}", *joint, *TINY, *shrink,
                              f"trainer.output_dir={out}"])
    if fine_tune:
        cfg.model.init_weights = _stand_in_weights(cfg.model.name, dict(cfg.model.kwargs), tmp_path / "k400.safetensors")
    if cfg.data.modality != "rgb":
        cfg.data.num_frames = min(cfg.data.num_frames, 2)
    else:
        cfg.data.num_frames = 8 if cfg.data.num_frames > 1 else 1
    capsys.readouterr()
    trainer = build_trainer(cfg)
    report = trainer.fit()
    assert report["steps"] == 2
    if fine_tune:  # every tensor but the 400-class classifier came from the file
        line = next(ln for ln in capsys.readouterr().out.splitlines() if "model.init_weights=" in ln)
        assert " 2 kept fresh (e.g. fc.weight, fc.bias)" in line, line
    assert report["num_videos"] > 0 and (out / "report.json").is_file()
    if joint:  # multi-task: both datasets' training videos, scored in the primary dataset's classes
        blocks = trainer.meta["preprocessing"]["label_blocks"]
        assert [b["source"] for b in blocks] == [source, *(e.source for e in cfg.data.joint)]
        assert report["num_train_videos"] > len(trainer.train_loader.dataset.parts[0][0])
        assert len(report["confusion_matrix"]) == blocks[0]["stop"] < blocks[-1]["stop"]


def _joint_roots(name: str, trees: dict[str, Path]) -> list[str]:
    """``data.joint.N.root`` overrides pointing a multi-task recipe's other datasets at their generated trees."""
    joint = OmegaConf.load(EXPERIMENTS / f"{name}.yaml").get("data", {}).get("joint", [])
    return [f"data.joint.{i}.root={trees[entry.source]}" for i, entry in enumerate(joint)]
