"""A checkpoint someone sends is input: each forged run folder below is refused with one line naming the file
and the field, before anything is built, read outside the folder or written outside it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import vidzoo
from vidzoo import cli
from vidzoo.cli import compose_or_explain
from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.experiment import build_trainer
from vidzoo.errors import CheckpointError

from training_helpers import EPOCH, save_run, tiny_overrides

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good_run(synthetic_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "run"
    save_run(build_trainer(compose_or_explain(tiny_overrides(synthetic_root, out))), out)
    return out


@pytest.fixture
def run(good_run, tmp_path) -> Path:
    """A fresh copy of the good run folder, to forge."""
    return Path(shutil.copytree(good_run, tmp_path / "run"))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the run that nothing may read or write; its files' bytes are checked afterwards."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("do not touch\n")
    return folder


@pytest.fixture
def opened(tmp_path):
    """The paths Python opens while the test runs (an audit hook; safetensors' own reads are not seen)."""
    seen: list[str] = []
    active = [True]

    def hook(event, args):
        if active[0] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            seen.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)
    yield seen
    active[0] = False


def _edit_json(path: Path, edit) -> None:
    obj = json.loads(path.read_text())
    edit(obj)
    path.write_text(json.dumps(obj))


def _meta(run: Path) -> Path:
    return run / "checkpoints" / EPOCH / ckpt.META_FILE


def _weights(run: Path) -> Path:
    return run / "checkpoints" / EPOCH / ckpt.MODEL_FILE


def _one_line_error(run: Path, *fragments: str) -> str:
    with pytest.raises(CheckpointError) as err:
        vidzoo.load_model(run)
    msg = str(err.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


def _cli_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.run_test(list(args))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_the_good_run_loads(good_run):
    model, classes, prep = vidzoo.load_model(good_run)
    assert len(classes) == 9 and prep["num_frames"] == 8 and not model.training


def test_pointer_leading_outside_is_refused_not_followed(run, outside, opened):
    shutil.copytree(run / "checkpoints" / EPOCH, outside / EPOCH)  # a valid checkpoint, but outside
    for name in ("best", "last"):
        (run / "checkpoints" / f"{name}.json").write_text(json.dumps({"path": f"../../outside/{EPOCH}"}))
    opened.clear()  # only what loading opens counts
    _one_line_error(run, "best.json", "'path'", "../../outside")
    (run / "checkpoints" / "best.json").write_text(json.dumps({"path": "/etc"}))
    _one_line_error(run, "best.json", "'path'", "/etc")
    assert not [p for p in opened if p.startswith(str(outside))]


def test_symlinked_weights_or_meta_are_refused(run, outside, opened):
    shutil.move(_weights(run), outside / ckpt.MODEL_FILE)
    _weights(run).symlink_to(outside / ckpt.MODEL_FILE)
    opened.clear()  # only what loading opens counts
    _one_line_error(run, str(_weights(run)), "symbolic link")
    shutil.move(_meta(run), outside / ckpt.META_FILE)
    _meta(run).symlink_to(outside / ckpt.META_FILE)
    _one_line_error(run, str(_meta(run)), "symbolic link")
    assert not [p for p in opened if p.startswith(str(outside))]


@pytest.mark.parametrize("edit, fragments", [
    (lambda m: m.__setitem__("format_version", 99), ("'format_version'", "99")),
    (lambda m: m.pop("format_version"), ("'format_version'", "missing")),
    (lambda m: m.pop("model"), ("'model'", "missing")),
    (lambda m: m["model"].pop("num_classes"), ("'model.num_classes'", "None")),
    (lambda m: m["model"].__setitem__("num_classes", 10**9), ("'model.num_classes'", "1000000000", "1..100000")),
    (lambda m: m["model"]["kwargs"].__setitem__("width", 1e9), ("'model.kwargs.width'",)),
    (lambda m: m["preprocessing"].__setitem__("num_frames", 10**7), ("'preprocessing.num_frames'",)),
    (lambda m: m.__setitem__("class_names", ["a"]), ("'class_names'",)),
], ids=["version99", "no-version", "no-model", "no-num-classes", "num-classes-1e9", "width-1e9", "frames-1e7",
        "class-names"])
def test_meta_fields_are_checked_before_anything_is_built(run, edit, fragments):
    _edit_json(_meta(run), edit)
    t0 = time.perf_counter()
    _one_line_error(run, str(_meta(run)), *fragments)
    assert time.perf_counter() - t0 < 5  # nothing was allocated from the forged numbers


def test_num_classes_within_bounds_but_not_the_weights_is_refused_before_building(run, monkeypatch):
    _edit_json(_meta(run), lambda m: (m["model"].__setitem__("num_classes", 50_000),
                                      m.__setitem__("class_names", [str(i) for i in range(50_000)])))
    built = []
    real = vidzoo.engine.model_loading.build_model
    monkeypatch.setattr(vidzoo.engine.model_loading, "build_model",
                        lambda *a, **k: built.append(torch.empty(0).device) or real(*a, **k))
    _one_line_error(run, str(_weights(run)), "other shape")
    assert built == [torch.device("meta")]  # only the skeleton on the meta device, never the real model


def _rewrite_weights(run: Path, change) -> str:
    state = load_file(str(_weights(run)))
    key = next(k for k, v in state.items() if v.is_floating_point() and v.dim() > 1)
    save_file(change(state, key), str(_weights(run)))
    return key


def test_float64_weights_are_not_cast_silently(run):
    _rewrite_weights(run, lambda s, k: {n: v.double() if v.is_floating_point() else v for n, v in s.items()})
    _one_line_error(run, str(_weights(run)), "other dtype", "float64")


def test_nan_weight_is_refused(run):
    def poison(state, key):
        state[key].view(-1)[3] = float("nan")
        return state

    key = _rewrite_weights(run, poison)
    _one_line_error(run, "NaN", repr(key))


def test_file_paths_among_model_kwargs_are_never_opened(synthetic_root, tmp_path, opened):
    """A cnn_lstm's encoder_weights names a file to pre-train from; loading its checkpoint must not read it."""
    out = tmp_path / "lstm"
    trainer = build_trainer(compose_or_explain(tiny_overrides(synthetic_root, out, "model=cnn_lstm_small", "data.seq_clips=2",
                                                          "data.num_frames=4")))
    trainer.meta["model"]["kwargs"].update(encoder_weights=str(tmp_path / "elsewhere.safetensors"), freeze_encoder=True)
    save_run(trainer, out)
    model, _, _ = vidzoo.load_model(out)
    expected = trainer.raw_model.state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())
    assert not [p for p in opened if "elsewhere" in p]


def test_interpolation_in_the_stored_config_is_never_resolved(run, capsys, monkeypatch):
    monkeypatch.setenv("VIDZOO_SECRET", "s3cr3t-value")
    _edit_json(_meta(run), lambda m: m["config"]["data"].__setitem__("root", "${oc.env:VIDZOO_SECRET}"))
    err = _cli_error(capsys, f"checkpoint={run}", "progress=false")
    assert "'config.data.root'" in err and "interpolation" in err and str(_meta(run)) in err
    assert "s3cr3t-value" not in err


def test_stored_config_numbers_are_bounded(run, capsys):
    _edit_json(_meta(run), lambda m: m["config"]["data"].__setitem__("num_workers", 10**6))
    err = _cli_error(capsys, f"checkpoint={run}", "progress=false")
    assert "'config.data.num_workers'" in err and "data.num_workers=N" in err
    _edit_json(_meta(run), lambda m: m["config"]["data"]["synthetic"].__setitem__("train_per_class", 10**8))
    err = _cli_error(capsys, f"checkpoint={run}", "progress=false", "data.num_workers=0")
    assert "'config.data.synthetic.train_per_class'" in err


def test_evaluation_never_writes_through_a_planted_symlink(run, outside, capsys):
    (run / "test-split1").symlink_to(outside)
    err = _cli_error(capsys, f"checkpoint={run}", "progress=false")
    assert "test-split1" in err and "symbolic link" in err
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_resume_refuses_a_run_folder_with_planted_links(synthetic_root, run, outside):
    (run / "metrics.jsonl").symlink_to(outside / "secret.txt")
    trainer = build_trainer(compose_or_explain(tiny_overrides(synthetic_root, run, "trainer.resume=true")))
    with pytest.raises(CheckpointError, match="metrics.jsonl is a symbolic link"):
        trainer.fit()
    shutil.rmtree(run / "checkpoints")  # nothing to resume from: the run would start from scratch in that folder
    with pytest.raises(CheckpointError, match="metrics.jsonl is a symbolic link"):
        trainer.fit()
    assert (outside / "secret.txt").read_text() == "do not touch\n"


def test_resume_refuses_a_train_state_without_its_fields(synthetic_root, run):
    _edit_json(run / "checkpoints" / EPOCH / ckpt.STATE_JSON, lambda s: s.pop("epoch"))
    trainer = build_trainer(compose_or_explain(tiny_overrides(synthetic_root, run, "trainer.resume=true")))
    with pytest.raises(CheckpointError, match=r"train_state.json: field 'epoch' is missing"):
        trainer.fit()


def test_tools_test_prints_one_line_and_exits_2_for_a_forged_checkpoint(run):
    _edit_json(_meta(run), lambda m: m.__setitem__("format_version", 99))
    res = subprocess.run([sys.executable, str(REPO / "tools" / "test.py"), f"checkpoint={run}", "progress=false"],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and "'format_version'" in lines[0] and "Traceback" not in res.stderr


@pytest.mark.parametrize("args, fragment", [
    (["progress=false"], "checkpoint=PATH is required"),
    (["checkpoint=RUN", "foo=1"], "unknown argument 'foo'"),
    (["checkpoint=RUN", "which=../../outside/x"], "unknown which '../../outside/x'; choose one of: best, last"),
])
def test_vidzoo_test_argument_mistakes_are_one_line_with_exit_2(run, capsys, args, fragment):
    err = _cli_error(capsys, *(a.replace("RUN", str(run)) for a in args))
    assert err.startswith("vidzoo-test: error: ") and fragment in err
