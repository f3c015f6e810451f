"""vidzoo-eval-tracking end to end on MOTChallenge files, its bad-input messages, and torch-free import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval_reference import xywh
from vidzoo.eval.cli import main
from vidzoo.eval.load import load_sequences
from vidzoo.eval.synthetic import random_sequences
from vidzoo.eval.tracking import evaluate_tracking

ROOT = Path(__file__).resolve().parents[1]


def _write_mot(path: Path, tracks, is_gt: bool) -> None:
    b = xywh(tracks)
    rows = [f"{int(f) + 1},{int(i)},{x:.6f},{y:.6f},{w:.6f},{h:.6f},{1 if is_gt else s:.4f},{int(c)},1"
            for f, i, (x, y, w, h), s, c in zip(tracks.frames, tracks.ids, b, tracks.scores, tracks.classes)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + ("\n" if rows else ""))


@pytest.fixture()
def mot_tree(tmp_path):
    seqs = random_sequences(3, seed=11, num_frames=60, num_objects=5)
    for s in seqs:
        _write_mot(tmp_path / "gt" / s.name / "gt" / "gt.txt", s.gt, True)
        (tmp_path / "gt" / s.name / "seqinfo.ini").write_text(f"[Sequence]\nname={s.name}\nseqLength=60\n")
        _write_mot(tmp_path / "pred" / f"{s.name}.txt", s.pred, False)
    return tmp_path, seqs


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "vidzoo.eval.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


class _Done:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def _main(capsys, *args):
    """The CLI in this process (same code path as the command, without a Python start-up per case)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return _Done(exc.value.code, capsys.readouterr().err)


def test_cli_table_report_plots_and_workers(mot_tree):
    root, seqs = mot_tree
    r = _cli(f"gt={root / 'gt'}", f"pred={root / 'pred'}", "metrics=[hota,clear,identity,detection]",
             "workers=2", f"out={root / 'out'}", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "COMBINED" in r.stdout and "HOTA" in r.stdout and "seq002" in r.stdout
    assert "seq/s" in r.stderr  # tqdm's rate
    report = json.loads((root / "out" / "report.json").read_text())
    direct = evaluate_tracking(load_sequences(root / "gt", root / "pred"))["combined"]
    assert report["combined"]["clear"]["MOTA"] == pytest.approx(direct["clear"]["MOTA"])
    assert report["combined"]["hota"]["HOTA"] == pytest.approx(direct["hota"]["HOTA"].tolist())
    assert 0 < report["detection"]["mAP@0.5"] <= 1
    for png in ("hota_alpha.png", "pr_curve.png"):
        assert (root / "out" / png).read_bytes()[:4] == b"\x89PNG"
    # Its own report is replaced on a second run; someone else's file is not.
    assert _cli(f"gt={root / 'gt'}", f"pred={root / 'pred'}", f"out={root / 'out'}", "progress=false",
                cwd=root).returncode == 0
    (root / "other").mkdir()
    (root / "other" / "report.json").write_text("{}")
    r = _cli(f"gt={root / 'gt'}", f"pred={root / 'pred'}", f"out={root / 'other'}", cwd=root)
    assert r.returncode == 2 and "was not written by" in r.stderr
    assert (root / "other" / "report.json").read_text() == "{}"


BAD = [
    ("1,1,0,0,10,10,1,1,1\n2,1,0,0,10,10,1,1,1\n1,2,0,0,10,10,1,1,1\n", ":3: frame 1 comes after frame 2"),
    ("1,1,0,0,10,10,1,1,1\n1,1,5,5,10,10,1,1,1\n", ":2: ground-truth id 1 appears twice in frame 1"),
    ("1,1,0,0,-10,10,1,1,1\n", ":1: negative box width or height"),
    ("1,1,0,nan,10,10,1,1,1\n", ":1: NaN or inf"),
    ("1,1,0,0,10\n", ":1: 5 values"),
    ("1,1,0,zero,10,10,1,1,1\n", ":1: not a number"),
]


@pytest.mark.parametrize("text,expected", BAD)
def test_bad_gt_file_is_one_line_naming_file_and_line(tmp_path, capsys, text, expected):
    (tmp_path / "gt.txt").write_text(text)
    (tmp_path / "pred.txt").write_text("1,5,0,0,10,10,0.9,-1,-1,-1\n")
    r = _main(capsys, f"gt={tmp_path / 'gt.txt'}", f"pred={tmp_path / 'pred.txt'}", f"out={tmp_path / 'o'}")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"gt.txt{expected}" in r.stderr


def test_missing_sequence_and_bad_arguments(mot_tree, capsys):
    root, seqs = mot_tree
    (root / "pred" / "seq001.txt").unlink()
    r = _main(capsys, f"gt={root / 'gt'}", f"pred={root / 'pred'}", f"out={root / 'o'}")
    assert r.returncode == 2 and "no predictions for sequence 'seq001'" in r.stderr
    assert "seq001.txt (empty to score it as no output)" in r.stderr
    for args, msg in [(["metric=hota"], "did you mean metrics=?"), (["metrics=[mota]"], "unknown metric 'mota'"),
                      (["workers=0"], "workers='0'"), ([], "missing gt=PATH")]:
        r = _main(capsys, *args, *([f"gt={root / 'gt'}", f"pred={root / 'pred'}"] if args else []))
        assert r.returncode == 2 and msg in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


def test_empty_prediction_file_scores_zero(mot_tree):
    root, seqs = mot_tree
    for s in seqs:
        (root / "pred" / f"{s.name}.txt").write_text("")
    rep = evaluate_tracking(load_sequences(root / "gt", root / "pred"))["combined"]
    assert np.all(rep["hota"]["HOTA"] == 0) and rep["clear"]["CLR_TP"] == 0 and rep["identity"]["IDF1"] == 0
    assert rep["clear"]["CLR_FN"] == sum(len(s.gt) for s in seqs) and rep["clear"]["MOTA"] == 0


def test_vidzoo_eval_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import vidzoo.eval.cli, vidzoo.eval.tracking, vidzoo.eval.detection, vidzoo.eval.speed, "
            "vidzoo.eval.delay, vidzoo.eval.tubes, vidzoo.eval.track_map, vidzoo.eval.load, vidzoo.eval.report\n"
            "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
