"""The model card: every registered model has a row, sizes and costs are real, the recorded CPU results are complete."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from vidzoo import build_model, list_models

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))  # the model card is a tool, not part of the library

import card_runs  # noqa: E402
from card_runs import RESULTS_FILE, recipe_overrides, small_models  # noqa: E402
from model_card import (  # noqa: E402
    CARD_FILE,
    PAPER_RESULTS,
    card_rows,
    count_parameters,
    default_num_classes,
    dummy_input,
    forward_gflops,
    load_paper_results,
    missing_models,
    parameters_of,
    render_card,
)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return card_rows(results={"models": {}})


def test_card_has_a_row_for_every_registered_model(rows):
    text = render_card(rows, {"models": {}})
    assert missing_models(text) == []
    assert [r["name"] for r in rows] == list_models()


def test_missing_model_is_detected(rows):
    """Dropping one registered model's row is caught by the coverage check."""
    dropped = rows[3]["name"]
    text = render_card([r for r in rows if r["name"] != dropped], {"models": {}})
    assert missing_models(text) == [dropped]


def test_committed_card_is_complete():
    """MODEL_CARD.md was regenerated after the last model was registered (python tools/model_card.py)."""
    assert CARD_FILE.exists(), "run python tools/model_card.py"
    assert missing_models(CARD_FILE.read_text()) == [], "MODEL_CARD.md is stale: run python tools/model_card.py"


def test_gflops_positive_and_ordered(rows):
    by_name = {r["name"]: r for r in rows}
    assert all(r["gflops"] > 0 for r in rows), [r["name"] for r in rows if r["gflops"] <= 0]
    # Sanity against well-known sizes: C3D ~38.5 GMACs per 16x112x112 clip, R(2+1)D-34 costs more than -18.
    assert 70 < by_name["c3d"]["gflops"] < 85
    assert by_name["r2plus1d_34"]["gflops"] > by_name["r2plus1d_18"]["gflops"]
    assert by_name["c3d_small"]["gflops"] < by_name["c3d"]["gflops"] / 50


def test_gflops_counts_a_known_conv():
    """FlopCounterMode counts multiply-adds twice: a 1x1x1 conv 3->4 on 2x4x4 voxels is 2*3*4*32 FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv3d(3, 4, 1, bias=False)
    with FlopCounterMode(display=False) as counter:
        conv(torch.zeros(1, 3, 2, 4, 4))
    assert counter.get_total_flops() == 2 * 3 * 4 * 32


@pytest.mark.parametrize("name", ["c3d_small", "two_stream_late_small", "karpathy_slow_small", "ji3d_small",
                                  "cnn_lstm_small"])
def test_params_equal_numel_sum(name):
    model = build_model(name, num_classes=101)
    assert parameters_of(name, 101) == sum(p.numel() for p in model.parameters()) == count_parameters(model)
    nc = default_num_classes(name)
    assert parameters_of(name, nc) == sum(p.numel() for p in build_model(name, num_classes=nc).parameters())


def test_params_in_card_rows_match_meta_builds(rows):
    for r in rows:
        with torch.device("meta"):
            model = build_model(r["name"], num_classes=101)
        assert r["params_101"] == sum(p.numel() for p in model.parameters()), r["name"]


def test_dummy_input_of_two_stream_models_is_a_dict():
    x = dummy_input("two_stream_conv_small", batch=2)
    assert set(x) == {"rgb", "flow"} and x["rgb"].shape == (2, 3, 3, 56, 56) and x["flow"].shape == (2, 2, 15, 56, 56)
    assert forward_gflops("two_stream_conv_small") > forward_gflops("two_stream_temporal_small")


def test_paper_results_are_registered_full_size_models():
    registered = set(list_models())
    for name, result in PAPER_RESULTS.items():
        assert name in registered and not name.endswith("_small"), name
        assert result.paper and result.table and isinstance(result.verified, bool), name
        for value in (result.ucf101, result.hmdb51):
            assert value is None or 0 < value <= 100, (name, value)
    assert PAPER_RESULTS["r2plus1d_34"].hmdb51 == 74.5
    c3d = PAPER_RESULTS["c3d"]  # one net, fc6 features + SVM: pre-trained on I380K (fine-tuned on Sports-1M)
    assert c3d.ucf101 == 82.3 and c3d.table == "Table 3" and c3d.pretraining.startswith("I380K")


def test_paper_numbers_are_data_with_their_table_and_check(tmp_path):
    """The numbers live in tools/paper_numbers.yaml; the card marks unverified ones and names every table."""
    assert not (Path(__file__).resolve().parents[1] / "vidzoo" / "model_card.py").exists()
    bad = tmp_path / "p.yaml"
    bad.write_text("c3d: {paper: Tran et al. 2015, ucf101: 82.3}\n")
    with pytest.raises(ValueError, match="'c3d' must have paper, table, verified"):
        load_paper_results(bad)
    rows = card_rows(["c3d"], results={"models": {}})
    text = render_card(rows, {"models": {}})
    assert "| 82.3% † |" in text and "* `c3d`: Tran et al. 2015, ICCV, Table 3 (not verified)." in text
    assert "## Deviations and unverified details" in text and "fc6_features" in text


def test_every_small_model_has_a_recipe():
    for name in small_models():
        (override,) = recipe_overrides(name)
        group, _, config = override.partition("=")
        folder = "experiment" if group == "experiment" else "model"
        assert (Path(__file__).resolve().parents[1] / "configs" / folder / f"{config}.yaml").exists(), name


def test_every_recipe_composes_and_trains_the_model_it_is_listed_for():
    """A misspelt key in a recipe (e.g. under data.synthetic) fails here, not after an hour of --train."""
    from vidzoo.cli import compose_or_explain

    for name in small_models():
        assert compose_or_explain(recipe_overrides(name)).model.name == name


def test_recorded_results_cover_every_small_model():
    """results/synthetic_cpu.json holds a run of every CPU variant, each with its command and date."""
    assert RESULTS_FILE.exists(), "run python tools/model_card.py --train"
    models = json.loads(RESULTS_FILE.read_text())["models"]
    assert sorted(set(small_models()) - set(models)) == []
    for name, rec in models.items():
        assert 0.0 <= rec["video_top1"] <= 1.0 and rec["epochs"] > 0 and rec["wall_seconds"] > 0, name
        assert rec["train_videos"] >= 9 * 30, name  # the default synthetic training set or a larger one
        assert rec["command"].startswith("python tools/train.py ") and rec["date"], name


def test_unknown_model_for_train_is_rejected(tmp_path):
    from card_runs import train_models

    with pytest.raises(ValueError, match="unknown model"):
        train_models(["no_such_small"], path=tmp_path / "r.json")


def _fake_run(run_dir, model: str) -> None:
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "overrides.yaml").write_text("- experiment=karpathy_late_synthetic\n- data.stride=1\n")
    report = {"model": {"name": model, "kwargs": {}, "num_classes": 9}, "video_top1": 0.9, "clip_top1": 0.8, "epochs": 3,
              "num_train_videos": 1080}
    (run_dir / "report.json").write_text(json.dumps(report))


def test_record_stores_a_finished_run_with_its_command(tmp_path):
    from card_runs import record_runs

    _fake_run(tmp_path / "run", "karpathy_late_small")
    out = tmp_path / "r.json"
    rec = record_runs([f"karpathy_late_small={tmp_path / 'run'}"], path=out, log=lambda *_: None)["models"]
    rec = rec["karpathy_late_small"]
    assert rec["video_top1"] == 0.9 and rec["epochs"] == 3 and rec["wall_seconds"] >= 0 and rec["train_videos"] == 1080
    assert rec["command"] == "python tools/train.py experiment=karpathy_late_synthetic data.stride=1"
    assert json.loads(out.read_text())["models"]["karpathy_late_small"]["command"] == rec["command"]


def test_record_refuses_another_models_run_or_an_unfinished_one(tmp_path):
    from card_runs import record_runs

    _fake_run(tmp_path / "run", "c3d_small")
    with pytest.raises(ValueError, match="trained 'c3d_small', not 'karpathy_late_small'"):
        record_runs([f"karpathy_late_small={tmp_path / 'run'}"], path=tmp_path / "r.json")
    with pytest.raises(FileNotFoundError, match="report.json does not exist"):
        record_runs([f"c3d_small={tmp_path / 'nowhere'}"], path=tmp_path / "r.json")
    with pytest.raises(ValueError, match="NAME=RUN_DIR"):
        record_runs(["c3d_small"], path=tmp_path / "r.json")


def test_train_one_keeps_earlier_runs(tmp_path, monkeypatch):
    earlier = tmp_path / "c3d_small"
    earlier.mkdir()
    (earlier / "report.json").write_text("an earlier run")
    launched = []

    def fake_run(cmd, name, start, log):  # stands in for tools/train.py: writes the report where it was told to
        out = Path(next(a for a in cmd if a.startswith("trainer.output_dir=")).partition("=")[2])
        launched.append(out)
        _fake_run(out, "c3d_small")
        return 0, []

    monkeypatch.setattr(card_runs, "_run_streaming", fake_run)
    record = card_runs.train_one("c3d_small", runs_dir=tmp_path)
    assert record["video_top1"] == 0.9 and launched[0].parent == tmp_path and launched[0].name.startswith("c3d_small-")
    assert (earlier / "report.json").read_text() == "an earlier run"


def test_card_training_reports_each_epoch_with_rate_and_eta() -> None:
    import sys
    import time

    from card_runs import _run_streaming

    script = "print('[vidzoo] epoch 1/3: loss 2.0'); print('noise'); print('[vidzoo] epoch 2/3: loss 1.0')"
    seen: list[str] = []
    code, lines = _run_streaming([sys.executable, "-c", script], "c3d_small", time.perf_counter(), seen.append)
    assert code == 0 and lines[1] == "noise"
    assert len(seen) == 2
    assert seen[1].startswith("[model_card] c3d_small epoch 2/3 (") and "s/epoch, ETA" in seen[1]
    assert seen[1].endswith("loss 1.0")


def test_two_step_recipe_trains_on_the_recorded_stage_one_run(tmp_path, monkeypatch):
    """cnn_lstm_small's recipe is the paper's step 2: it gets the folder of cnn_lstm_encoder_small's recorded run,
    which --train trains first."""
    with pytest.raises(FileNotFoundError, match="--models cnn_lstm_encoder_small,cnn_lstm_small"):
        card_runs.stage_one_overrides("cnn_lstm_small", {"models": {}})
    results = {"models": {"cnn_lstm_encoder_small": {"run_dir": str(tmp_path)}}}
    assert card_runs.stage_one_overrides("cnn_lstm_small", results) == [f"model.kwargs.encoder_weights={tmp_path}"]
    assert card_runs.stage_one_overrides("c3d_small", results) == []
    trained = []

    def fake_train_one(name, extra=(), log=print):
        trained.append((name, list(extra)))
        return {"run_dir": str(tmp_path / name), "video_top1": 1.0, "epochs": 1, "wall_seconds": 1.0}

    (tmp_path / "cnn_lstm_encoder_small").mkdir()
    monkeypatch.setattr(card_runs, "train_one", fake_train_one)
    card_runs.train_models(["cnn_lstm_small", "cnn_lstm_encoder_small"], path=tmp_path / "r.json", log=lambda *_: None)
    assert trained == [("cnn_lstm_encoder_small", []),
                       ("cnn_lstm_small", [f"model.kwargs.encoder_weights={tmp_path / 'cnn_lstm_encoder_small'}"])]
