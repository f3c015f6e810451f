"""Shared helpers for tests that train through the real CLI on a small synthetic-motions set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Small enough to train in seconds, large enough to learn: 9 classes x (12 train + 2 test) videos at the
#: default frame size (the synthetic motions are tuned for 64x80 frames and 56 px crops).
#: The checkpoint folder :func:`save_run` writes.
EPOCH = "epoch_0001"
TRAIN_SET = dict(seed=3, train_per_class=12, test_per_class=2, size=(64, 80), num_frames=24)


def make_train_set(folder: Path) -> Path:
    from vidzoo.data.synthetic import generate_synthetic_motions

    return generate_synthetic_motions(folder / "synthetic", **TRAIN_SET)


def overrides(root: Path, out: Path, *extra: str) -> list[str]:
    """CLI overrides that train ``c3d`` (c3d_small) for 2 epochs on the set under ``root``."""
    s = TRAIN_SET
    return [
        f"data.root={root}", f"data.synthetic.seed={s['seed']}", f"data.synthetic.train_per_class={s['train_per_class']}",
        f"data.synthetic.test_per_class={s['test_per_class']}", f"data.synthetic.size=[{s['size'][0]},{s['size'][1]}]",
        f"data.synthetic.num_frames={s['num_frames']}", "data.resize=64", "data.crop_size=56", "data.num_frames=8",
        "data.batch_size=16", "data.num_workers=0", "model=c3d_small", "trainer.epochs=2", "trainer.tensorboard=false", f"trainer.output_dir={out}",
        "trainer.progress=false", *extra,
    ]


def tiny_overrides(root: Path, out: Path, *extra: str) -> list[str]:
    """Overrides that build (not train) c3d_small on the tiny conftest synthetic set under ``root``."""
    from datasets_tree import synthetic_kwargs

    s = synthetic_kwargs(root)
    return [f"data.root={root}", *(f"data.synthetic.{k}={v}" for k, v in s.items() if k != "size"),
            f"data.synthetic.size=[{s['size'][0]},{s['size'][1]}]", "data.num_frames=8", "data.resize=40",
            "data.crop_size=32", "data.test_clips=1", "data.batch_size=6", "data.num_workers=0", "model=c3d_small",
            "trainer.epochs=2", "trainer.tensorboard=false", "trainer.progress=false", f"trainer.output_dir={out}", *extra]


def tiny_sweep_overrides(root: Path, sweep_dir: Path, *extra: str,
                         sweeps: tuple[str, ...] = ("trainer.seed=0,1", "model=c3d_small,r3d_small")) -> list[str]:
    """``-m`` and ``sweeps`` (by default 4 jobs) for two steps of one epoch each on the tiny conftest set under
    ``root``, into ``sweep_dir``."""
    from conftest import TINY_SYNTHETIC as s

    return [
        "-m", *sweeps, "trainer.epochs=1", "trainer.max_steps_per_epoch=2",
        f"data.root={root}", f"data.synthetic.train_per_class={s['train_per_class']}",
        f"data.synthetic.test_per_class={s['test_per_class']}", f"data.synthetic.size=[{s['size'][0]},{s['size'][1]}]",
        f"data.synthetic.num_frames={s['num_frames']}", "data.resize=32", "data.crop_size=28", "data.num_frames=4",
        "data.batch_size=4", "data.num_workers=0", "data.test_clips=1", "trainer.tensorboard=false",
        "trainer.progress=false", f"hydra.sweep.dir={sweep_dir}", *extra,
    ]


def make_tree_without_videos(root: Path) -> Path:
    """A UCF101 layout whose split files (splits 1 and 2) name videos that are not on disk: every job fails."""
    (root / "UCF-101" / "Jump").mkdir(parents=True)
    (root / "ucfTrainTestlist").mkdir()
    (root / "ucfTrainTestlist" / "classInd.txt").write_text("1 Jump\n")
    for split in (1, 2):
        (root / "ucfTrainTestlist" / f"trainlist0{split}.txt").write_text(f"Jump/v_Jump_g0{split}_c01.avi 1\n")
        (root / "ucfTrainTestlist" / f"testlist0{split}.txt").write_text(f"Jump/v_Jump_g0{split}_c02.avi\n")
    return root


def check_four_job_sweep(sweep_dir: Path, stdout: str) -> list[dict]:
    """Check what :func:`tiny_sweep_overrides` left in ``sweep_dir``: 4 job folders named by the swept values, each
    with its report, and ``summary.{json,md}`` (also printed on ``stdout``) with one row per job holding the
    report's scores. Returns the rows."""
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name for p in jobs] == ["0_trainer.seed=0,model=c3d_small", "1_trainer.seed=0,model=r3d_small",
                                      "2_trainer.seed=1,model=c3d_small", "3_trainer.seed=1,model=r3d_small"]
    rows = json.loads((sweep_dir / "summary.json").read_text())
    assert [r["run"] for r in rows] == [str(p) for p in jobs]
    for job, row in zip(jobs, rows):
        report = json.loads((job / "report.json").read_text())
        assert isinstance(row["video_top1"], float) and isinstance(row["clip_top1"], float)
        assert row["video_top1"] == report["video_top1"] and row["clip_top1"] == report["clip_top1"]
        assert report["model"]["name"] == ("c3d_small" if "model=c3d_small" in job.name else "r3d_small")
    table = (sweep_dir / "summary.md").read_text().splitlines()
    body = [ln for ln in table if ln.startswith("| ") and ln[2].isdigit()]
    assert len(body) == 4 and all(str(job) in ln for job, ln in zip(jobs, body))
    assert "| trainer.seed=1 model=r3d_small |" in body[3]
    assert "summary.md" in stdout and body[0] in stdout
    return rows


def run_train(args: list[str], timeout: float = 300, prefix: list[str] | None = None, env=None) -> subprocess.CompletedProcess:
    """Run ``tools/train.py`` (optionally under a launcher ``prefix`` such as torchrun) and capture its output."""
    cmd = [*(prefix or [sys.executable]), str(REPO / "tools" / "train.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)


def save_run(trainer, out: Path) -> Path:
    """Write ``trainer``'s (untrained) model as checkpoint ``epoch_0001`` of the run folder ``out``, with
    ``last``/``best`` pointers, as ``fit()`` would after one epoch."""
    from vidzoo.engine import checkpoint as ckpt

    state = {"epoch": 1, "step": 1, "best_metric": 0.0, "best_epoch": 1, "history": [], "failed": [], "scaler": None}
    target = ckpt.save_checkpoint(out / "checkpoints" / EPOCH, trainer.raw_model.state_dict(),
                                  {**trainer.meta, "epoch": 1, "metrics": {}}, trainer.optimizer.state_dict(), state)
    for name in ("last", "best"):
        ckpt.update_pointer(out / "checkpoints", name, target)
    return target
