"""Checkpoints: atomic writes, exact round trips, no pickle, clear errors."""

import json
import os
import zipfile

import pytest
import torch
from torch import nn

from vidzoo.engine import checkpoint as ckpt
from vidzoo.errors import OutputError


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))


def test_round_trip_weights_optimizer_and_rng(tmp_path):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    torch.manual_seed(123)
    target = ckpt.save_checkpoint(tmp_path / "epoch_0001", model.state_dict(), {"model": {"name": "x"}},
                                  opt.state_dict(), {"epoch": 1, "step": 7})
    expected_next = torch.rand(3)  # what the RNG gives right after the save

    restored = _model()
    ckpt.load_state_into(restored, ckpt.load_weights(target), str(target), "x")
    for (k, a), b in zip(model.state_dict().items(), restored.state_dict().values()):
        assert torch.equal(a, b), k
    torch.manual_seed(999)
    opt_state, info = ckpt.load_train_state(target)
    assert torch.equal(torch.rand(3), expected_next)  # RNG restored
    assert info == {"epoch": 1, "step": 7}
    opt2 = torch.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt_state)
    for p, q in zip(opt.state.values(), opt2.state.values()):
        assert torch.equal(p["momentum_buffer"], q["momentum_buffer"])


def test_files_are_safetensors_and_json_not_pickle(tmp_path):
    target = ckpt.save_checkpoint(tmp_path / "c", _model().state_dict(), {"model": {"name": "x"}})
    names = sorted(p.name for p in target.iterdir())
    assert names == [ckpt.META_FILE, ckpt.MODEL_FILE]
    assert not zipfile.is_zipfile(target / ckpt.MODEL_FILE)  # torch.save files are zip archives of pickles
    assert json.loads((target / ckpt.META_FILE).read_text())["model"]["name"] == "x"


def test_interrupted_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / "epoch_0001"
    ckpt.save_checkpoint(target, _model().state_dict(), {"v": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(target, _model().state_dict(), {"v": 2})
    monkeypatch.undo()
    assert ckpt.read_meta(target)["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0001"]  # no temp debris


def test_resolve_run_dir_and_pointers(tmp_path):
    run = tmp_path / "run"
    a = ckpt.save_checkpoint(run / "checkpoints" / "epoch_0001", _model().state_dict(), {})
    b = ckpt.save_checkpoint(run / "checkpoints" / "epoch_0002", _model().state_dict(), {})
    ckpt.update_pointer(run / "checkpoints", "last", b)
    ckpt.update_pointer(run / "checkpoints", "best", a)
    assert ckpt.resolve_checkpoint(run) == a
    assert ckpt.resolve_checkpoint(run, "last") == b
    assert ckpt.resolve_checkpoint(b / ckpt.MODEL_FILE) == b
    with pytest.raises(ckpt.CheckpointError, match="not found"):
        ckpt.resolve_checkpoint(tmp_path / "nope")
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint in"):
        ckpt.resolve_checkpoint(tmp_path)


def test_other_architecture_gives_one_line_error(tmp_path):
    target = ckpt.save_checkpoint(tmp_path / "c", _model().state_dict(), {})
    other = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.Linear(16, 3))
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_state_into(other, ckpt.load_weights(target), str(target), "other")
    msg = str(err.value)
    assert "\n" not in msg and "other shape" in msg and str(target) in msg


def test_save_refuses_a_folder_that_is_not_a_checkpoint_and_uses_normal_modes(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="mine exists and is not a checkpoint"):
        ckpt.save_checkpoint(mine, _model().state_dict(), {"v": 1})
    assert (mine / "thesis.tex").read_text() == "years of work" and len(list(tmp_path.iterdir())) == 1
    mask = os.umask(0o022)
    try:
        saved = ckpt.save_checkpoint(tmp_path / "epoch_0001", _model().state_dict(), {"v": 1})
        ckpt.update_pointer(tmp_path, "last", saved)
    finally:
        os.umask(mask)
    assert saved.stat().st_mode & 0o777 == 0o755  # not tempfile.mkdtemp's 0700
    assert (tmp_path / "last.json").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
