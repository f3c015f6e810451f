"""vidzoo.validation on the plain dataclasses (no Hydra), and the help texts of the command lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidzoo.config import Config, DataConfig, OptimConfig
from vidzoo.errors import ConfigValueError
from vidzoo.validation import check_cheap, check_model, check_value, validate_config

REPO = Path(__file__).resolve().parents[1]


def test_the_default_dataclass_config_passes():
    validate_config(Config())


@pytest.mark.parametrize("cfg, key", [
    (Config(data=DataConfig(num_frames=0)), "data.num_frames"),
    (Config(data=DataConfig(crop_size=80, resize=64)), "data.crop_size"),
    (Config(data=DataConfig(decoder="ffmpeg")), "data.decoder"),
    (Config(optim=OptimConfig(lr=-1.0)), "optim.lr"),
    (Config(data=DataConfig(source="ucf101")), "data.root"),
    (Config(data=DataConfig(clip_strides=[9, 3])), "data.clip_strides"),
])
def test_a_bad_dataclass_value_names_its_key(cfg, key):
    with pytest.raises(ConfigValueError, match=key):
        check_cheap(cfg)


def test_value_rules_take_the_edges_they_name():
    check_value("data.test_crops", 3)
    check_value("data.num_workers", 0)
    check_value("trainer.device", "cuda:1")
    for key, value in [("data.test_crops", 7), ("data.num_workers", -1), ("trainer.device", "cuda:x"),
                       ("optim.momentum", 1.0), ("data.batch_size", True)]:
        with pytest.raises(ConfigValueError, match=key):
            check_value(key, value)


def test_builder_keys_are_checked_through_forwarded_kwargs():
    check_model("c3d_small", {"width": 0.5})
    with pytest.raises(ConfigValueError, match=r"no argument 'widht'.*accepted: width"):
        check_model("c3d_small", {"widht": 0.5})
    with pytest.raises(ConfigValueError, match="sets 'widths' itself"):
        check_model("c3d", {"widths": [1] * 8})
    with pytest.raises(ConfigValueError, match="does not exist"):
        check_model("cnn_lstm_small", {"encoder_weights": "/no/such/file.safetensors"})


@pytest.mark.parametrize("group", ["model", "experiment"])
def test_every_shipped_config_passes_validation(group):
    """A rule that refuses a config the project ships is a wrong rule (or a broken config)."""
    from vidzoo.cli import compose_job
    from vidzoo.validation import check_costly

    for name in sorted(p.stem for p in (REPO / "configs" / group).glob("*.yaml")):
        cfg, preset = compose_job([f"{group}={name}"])
        check_cheap(cfg, check_files=False)
        check_costly(cfg, preset, check_files=False)  # e.g. a stage-2 recipe names a stage-1 run folder


def _run(*cmd: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def test_vidzoo_train_help_is_vidzoos():
    res = _run(str(REPO / "tools" / "train.py"), "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("vidzoo-train: ") and "Hydra" not in res.stdout.split("== Config (")[0]
    groups = res.stdout.split("== Config groups (GROUP=OPTION) ==")[1].split("== Config (")[0]
    assert "model: c3d, c3d_small" in groups and "trainer: gpu_fast" in groups
    assert "streaming" not in groups and "recipe" not in groups  # vidzoo-stream's group; the data configs' recipe
    assert "--cfg job model=" in res.stdout and "+model.kwargs" in res.stdout


def test_vidzoo_test_help_is_a_usage_text():
    res = _run(str(REPO / "tools" / "test.py"), "--help")
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.startswith("usage: vidzoo-test checkpoint=PATH") and "data.test_crops=3" in res.stdout
