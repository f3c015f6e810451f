"""Bad input a user can type, through the real command lines in child processes: each must end with exit
status 2 and one line on stderr that names the key or flag (no traceback), and must leave every file
it was shown untouched and create nothing (no run folder, no dataset cache).

Each command runs in a child forked from a warm interpreter (``cli_zygote.py``: torch, torchvision and Hydra
imported once, vidzoo imported fresh in every child) and calls the command's real entry point with its argv;
the console-script wrappers themselves are started by ``test_install.py`` and ``test_readme.py``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_zygote import ENTRY_POINTS, Zygote

from vidzoo.validation import cuda_visible

REPO = Path(__file__).resolve().parents[1]
TINY = ["trainer.epochs=1", "trainer.max_steps_per_epoch=2"]

needs_cpu_only = pytest.mark.skipif(cuda_visible(), reason="the rule refuses a GPU-only setting on a CPU machine")

# (command, arguments, text the one-line error must contain). Placeholders: {ds} a UCF101-like dataset
# folder, {file} a plain file, {missing} a path that does not exist; all inside the sentinel tree.
CASES = [
    # unknown names
    ("vidzoo-train", ["data.decoder=ffmpegx"], "data.decoder"),
    ("vidzoo-train", ["sched.name=linear"], "sched.name"),
    ("vidzoo-train", ["optim.name=adam"], "optim.name"),
    ("vidzoo-train", ["data.source=kinetics"], "data.source"),
    ("vidzoo-train", ["data.modality=depth"], "data.modality"),
    ("vidzoo-train", ["data.sampler=dense"], "data.sampler"),
    ("vidzoo-train", ["trainer.precision=fp8"], "trainer.precision"),
    ("vidzoo-train", ["trainer.device=tpu"], "trainer.device"),
    ("tools/train.py", ["model=c4d"], "model"),
    ("vidzoo-train", ["data.num_frame=8"], "did you mean data.num_frames"),
    ("vidzoo-train", ["data.num_frames=abc"], "data.num_frames"),
    # out of range
    ("vidzoo-train", ["data.num_frames=0"], "data.num_frames"),
    ("vidzoo-train", ["data.stride=-1"], "data.stride"),
    ("vidzoo-train", ["data.batch_size=0"], "data.batch_size"),
    ("tools/train.py", ["data.resize=0"], "data.resize"),
    ("vidzoo-train", ["data.crop_size=0"], "data.crop_size"),
    ("vidzoo-train", ["data.test_clips=0"], "data.test_clips"),
    ("vidzoo-train", ["data.num_workers=-1"], "data.num_workers"),
    ("vidzoo-train", ["trainer.epochs=0"], "trainer.epochs"),
    ("vidzoo-train", ["optim.lr=0"], "optim.lr"),
    ("tools/train.py", ["optim.lr=-0.1"], "optim.lr"),
    ("vidzoo-train", ["data.crop_size=72"], "data.crop_size"),
    ("vidzoo-train", ["data.test_crops=2"], "data.test_crops"),
    ("vidzoo-train", ["sched.gamma=0"], "sched.gamma"),
    # paths and datasets
    ("vidzoo-train", ["data=ucf101"], "data.root"),
    ("vidzoo-train", ["data=ucf101", "data.root={missing}"], "data.root"),
    ("vidzoo-train", ["data=ucf101", "data.root={file}"], "data.root"),
    ("vidzoo-train", ["data=ucf101", "data.root={ds}", "data.time_reversal=true"], "data.time_reversal"),
    ("vidzoo-train", ["data=ucf101", "data.root={ds}", "data.num_frames=0"], "data.num_frames"),
    ("vidzoo-train", ["trainer.output_dir={file}"], "trainer.output_dir"),
    ("vidzoo-train", ["data=ucf101", "data.root={ds}", "+data.extra.split_dri=lists"], "accepted: split_dir"),
    # sweeps
    ("vidzoo-train", ["trainer.seed=0,1"], "-m"),
    ("vidzoo-train", ["-m", "trainer.seed=0,1", "data.num_frames=8,0", *TINY], "data.num_frames"),
    ("vidzoo-train", ["-m", "model=c3d_small,c4d", *TINY], "c4d"),
    ("vidzoo-train", ["-m", "trainer.sed=0,1", *TINY], "did you mean trainer.seed"),
    ("vidzoo-train", ["-m", "optim.lr=0.01,-1", *TINY], "optim.lr"),
    ("vidzoo-train", ["-m", "trainer.seed=0,1", "trainer.output_dir={missing}"], "trainer.output_dir"),
    # builder keys (these import the model registry)
    ("vidzoo-train", ["+model.kwargs.widht=0.25"], "accepted: width"),
    ("vidzoo-train", ["+model.kwargs.width=0"], "width"),
    ("vidzoo-train", ["model.name=c4d"], "unknown model 'c4d'; choose one of: c3d, "),
    # vidzoo-test
    ("vidzoo-test", [], "checkpoint=PATH"),
    ("vidzoo-test", ["runs/x"], "key=value"),
    ("vidzoo-test", ["checkpoint={ds}", "whch=best"], "did you mean which"),
    ("vidzoo-test", ["checkpoint={ds}", "which=worst"], "which"),
    ("vidzoo-test", ["checkpoint={ds}", "precision=fp8"], "precision"),
    ("vidzoo-test", ["checkpoint={ds}", "device=gpu"], "device"),
    ("tools/test.py", ["checkpoint={ds}", "data.test_crops=2"], "data.test_crops"),
    ("vidzoo-test", ["checkpoint={ds}", "data.test_clips=0"], "data.test_clips"),
    ("vidzoo-test", ["checkpoint={ds}", "data.num_frame=8"], "did you mean data.num_frames"),
    ("vidzoo-test", ["checkpoint={missing}"], "checkpoint not found"),
    # vidzoo-extract-flow
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--quality", "0"], "--quality"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--quality", "101"], "--quality"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--resize", "0"], "--resize"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--bound", "0"], "--bound"),
    ("tools/extract_flow.py", ["{ds}", "--flow-root", "{missing}", "--bound", "-20"], "--bound"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{file}"], "--flow-root"),
    ("vidzoo-extract-flow", ["{missing}", "--flow-root", "{missing}"], "video_root"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--algorithm", "lk"], "--algorithm"),
    ("vidzoo-extract-flow", ["{ds}", "--flow-root", "{missing}", "--shard", "4/2"], "shard"),
    # vidzoo-prepare-dataset
    ("vidzoo-prepare-dataset", ["--source", "ucf101", "--root", "{ds}", "--quality", "0"], "--quality"),
    ("vidzoo-prepare-dataset", ["--source", "ucf101", "--root", "{ds}", "--workers", "0"], "--workers"),
    ("vidzoo-prepare-dataset", ["--source", "ucf101", "--root", "{ds}", "--split", "0"], "--split"),
    ("tools/prepare_dataset.py", ["--source", "ucf101", "--root", "{ds}", "--short-side", "-1"], "--short-side"),
    ("vidzoo-prepare-dataset", ["--source", "ucf101", "--root", "{file}"], "--root"),
    ("vidzoo-prepare-dataset", ["--source", "kinetics", "--root", "{ds}"], "--source"),
    ("vidzoo-prepare-dataset", ["--source", "ucf101", "--root", "{ds}", "--cache", "{ds}"], "--cache"),
    # the other tools
    ("tools/benchmark.py", ["speed"], "suite"),
    ("tools/benchmark.py", ["flow", "--pairs", "x"], "--pairs"),
    ("tools/model_card.py", ["--models", "c3d_small"], "--models needs --train"),
    ("tools/make_real_clips.py", ["{file}"], "not an empty folder"),
    ("tools/make_motion_clips.py", ["{file}"], "not an empty folder"),
    ("tools/make_motion_clips.py", ["{missing}", "--classes", "CameraSpin"], "CameraSpin"),
    # evaluation of tracking, streaming, weights import / export / features
    ("vidzoo-eval-tracking", ["gt={missing}", "pred={missing}"], "gt="),
    ("tools/eval_tracking.py", ["pred={file}"], "gt=PATH"),
    ("vidzoo-stream", ["ordering=random"], "ordering"),
    ("tools/stream.py", ["clips_per_video=0"], "clips_per_video"),
    ("vidzoo-stream", ["streaming.learners=[slda,knn]"], "streaming.learners"),
    ("vidzoo-stream", ["streaming=nope"], "streaming"),
    ("vidzoo-import-weights", ["caffe", "{file}", "--output", "{missing}"], "source"),
    ("tools/import_weights.py", ["torchvision", "{missing}", "--output", "{missing}"], "weights"),
    ("vidzoo-export", ["checkpoint={ds}", "format=tflite"], "format"),
    ("tools/export.py", ["checkpoint={missing}"], "checkpoint"),
    ("vidzoo-extract-features", ["checkpoint={missing}"], "data="),
    ("tools/extract_features.py", ["checkpoint={missing}", "data={ds}", "output={missing}", "layer=fc6"], "checkpoint"),
]
GPU_CASES = [
    ("vidzoo-train", ["trainer.batch_size=auto"], "trainer.batch_size=auto"),
    ("vidzoo-train", ["trainer=gpu_fast"], "gpu_fast"),
    ("vidzoo-train", ["trainer.device=cuda"], "trainer.device=cuda"),
]


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


def _make_sentinel_tree(root: Path) -> dict[str, Path]:
    """A UCF101-like dataset folder, a plain file and a path that does not exist."""
    ds = root / "ucf101"
    (ds / "UCF-101" / "Jump").mkdir(parents=True)
    (ds / "UCF-101" / "Jump" / "v_Jump_g01_c01.avi").write_bytes(b"not really a video" * 64)
    (ds / "ucfTrainTestlist").mkdir()
    (ds / "ucfTrainTestlist" / "classInd.txt").write_text("1 Jump\n")
    (ds / "ucfTrainTestlist" / "trainlist01.txt").write_text("Jump/v_Jump_g01_c01.avi 1\n")
    (ds / "ucfTrainTestlist" / "testlist01.txt").write_text("Jump/v_Jump_g01_c01.avi\n")
    notes = root / "notes.txt"
    notes.write_text("a file someone owns\n")
    return {"ds": ds, "file": notes, "missing": root / "missing"}


def _tree_digest(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> sha256 of its bytes ("dir" for folders)."""
    return {str(p.relative_to(root)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))}


@dataclass
class Outcome:
    """What one bad command did: its exit status and stderr, and what it changed or created."""

    argv: list[str]
    returncode: int
    stderr: str
    changed: bool  # the sentinel tree's checksums differ
    created: list[str]  # entries that appeared in the (empty) working folder or as the dataset cache


def _run_bad(case: tuple[str, list[str], str], folder: Path, zygote: Zygote) -> Outcome:
    """Run one bad command in an empty folder beside its own sentinel tree."""
    prog, args, _ = case
    root = folder / "sentinel"
    paths = _make_sentinel_tree(root)
    before = _tree_digest(root)
    work, cache = folder / "work", folder / "cache"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "VIDZOO_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    argv = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    returncode = zygote.run(prog, argv, work, env, folder / "stdout.txt", folder / "stderr.txt")
    created = [p.name for p in work.iterdir()] + (["$VIDZOO_CACHE"] if cache.exists() else [])
    stderr = (folder / "stderr.txt").read_text()
    return Outcome([prog, *argv], returncode, stderr, _tree_digest(root) != before, created)


def _check(out: Outcome, expected: str) -> str:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, f"{out.argv}: exit {out.returncode}\n{out.stderr[-3000:]}"
    assert len(lines) == 1 and "Traceback" not in out.stderr, f"{out.argv}: not one line:\n{out.stderr[-3000:]}"
    assert not out.changed, f"{out.argv} changed the sentinel tree"
    assert not out.created, f"{out.argv} created {out.created}"
    assert expected in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{p} {' '.join(a)}" for p, a, _ in CASES])
@pytest.mark.subprocess
def test_bad_input_is_one_line_exit_2_and_changes_nothing(index, tmp_path, zygote):
    prog, _, expected = CASES[index]
    line = _check(_run_bad(CASES[index], tmp_path, zygote), expected)
    assert line.startswith(Path(prog).name) or prog.startswith("tools/"), line


@needs_cpu_only
@pytest.mark.parametrize("index", range(len(GPU_CASES)), ids=[" ".join(a) for _, a, _ in GPU_CASES])
@pytest.mark.subprocess
def test_gpu_only_settings_are_refused_on_a_cpu_machine(index, tmp_path, zygote):
    line = _check(_run_bad(GPU_CASES[index], tmp_path, zygote), GPU_CASES[index][2])
    assert "no CUDA device" in line, line


def test_the_case_list_covers_every_command_line():
    progs = {p for p, _, _ in CASES}
    scripts = {f"tools/{t.name}" for t in (REPO / "tools").glob("*.py") if "__main__" in t.read_text()}
    assert set(ENTRY_POINTS) <= progs and scripts <= progs and "tools/train.py" in scripts
    assert len(CASES) + len(GPU_CASES) >= 40
