"""The synthetic-motions dataset: layout, caching, determinism, and that only motion carries the label."""

from __future__ import annotations

import json
import os

import av
import cv2
import numpy as np
import pytest

from vidzoo.data.annotations import read_class_index, read_ucf_style_split
from vidzoo.errors import OutputError
from corrupt_videos import write_corrupt_video
from vidzoo.data.synthetic import (
    CLASSES,
    FLIP_PAIRS,
    REVERSE_PAIRS,
    generate_synthetic_motions,
    render_motion_video,
)

TINY = {"train_per_class": 1, "test_per_class": 1, "size": (32, 32), "num_frames": 8}


def _frames(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def test_layout_and_splits(synthetic_root):
    manifest = json.loads((synthetic_root / "manifest.json").read_text())
    assert read_class_index(synthetic_root / "splits" / "classInd.txt") == list(CLASSES)
    train, classes = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "train")
    test, _ = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "test")
    assert classes == list(CLASSES)
    assert len(train) == manifest["train_per_class"] * len(CLASSES)
    assert len(test) == manifest["test_per_class"] * len(CLASSES)
    for rec in train + test:
        assert os.path.isfile(rec.path), rec.path
        assert os.path.basename(os.path.dirname(rec.path)) == CLASSES[rec.label]
    group = lambda r: os.path.basename(r.path).split("_")[-2]  # noqa: E731  (v_<Class>_gXX_cYY.avi)
    assert {group(r) for r in train}.isdisjoint({group(r) for r in test})
    video = _frames(train[0].path)
    h, w = manifest["size"]
    assert video.shape == (manifest["num_frames"], h, w, 3)


def test_flip_pairs_name_classes():
    names = [n for pair in FLIP_PAIRS for n in pair]
    assert set(names) <= set(CLASSES) and len(names) == len(set(names)) == 4
    reversed_names = [n for pair in REVERSE_PAIRS for n in pair]
    assert set(reversed_names) == set(CLASSES) - {"Still"} and len(reversed_names) == 8


def test_reversed_video_shows_the_paired_motion():
    rng = np.random.default_rng(6)
    for motion, partner in REVERSE_PAIRS[:2]:  # the translations: measured directly by phase correlation
        video = render_motion_video(motion, rng, size=(64, 80), num_frames=8)
        want = render_motion_video(partner, rng, size=(64, 80), num_frames=8)
        assert np.all(np.sign(np.round(_shift(video[::-1].copy()))) == np.sign(np.round(_shift(want)))), motion
    assert _rotation(render_motion_video("RotateCW", rng, size=(64, 80), num_frames=6)[::-1].copy()) < -1.0


def _shift(video: np.ndarray) -> np.ndarray:
    """Mean content displacement (dx, dy) per frame, by phase correlation of consecutive gray frames."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float64) for f in video]
    return np.mean([cv2.phaseCorrelate(a, b)[0] for a, b in zip(gray[:-1], gray[1:])], axis=0)


@pytest.mark.parametrize(
    "motion, sign", [("TranslateLeft", (-1, 0)), ("TranslateRight", (1, 0)), ("TranslateUp", (0, -1)),
                     ("TranslateDown", (0, 1)), ("Still", (0, 0))]
)
def test_translation_directions(motion, sign):
    video = render_motion_video(motion, np.random.default_rng(3), size=(64, 80), num_frames=8)
    dx, dy = _shift(video)
    for got, want in zip((dx, dy), sign):
        if want == 0:
            assert abs(got) < 0.3
        else:
            assert got * want > 1.0, (motion, dx, dy)  # at least 1 px/frame the right way


def test_horizontal_flip_turns_left_into_right():
    video = render_motion_video("TranslateLeft", np.random.default_rng(4), size=(64, 80), num_frames=8)
    assert _shift(video)[0] < -1.0
    assert _shift(video[:, :, ::-1].copy())[0] > 1.0


def _rotation(video: np.ndarray) -> float:
    """Mean signed on-screen rotation per frame in degrees (positive = clockwise), from matched features."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video]
    angles = []
    for a, b in zip(gray[:-1], gray[1:]):
        pts = cv2.goodFeaturesToTrack(a, 200, 0.01, 3)
        nxt, ok, _ = cv2.calcOpticalFlowPyrLK(a, b, pts, None)
        m, _ = cv2.estimateAffinePartial2D(pts[ok[:, 0] == 1], nxt[ok[:, 0] == 1])
        angles.append(np.degrees(np.arctan2(m[1, 0], m[0, 0])))  # image y points down: positive = clockwise
    return float(np.mean(angles))


def test_rotation_and_zoom_directions():
    rng = np.random.default_rng(5)
    assert _rotation(render_motion_video("RotateCW", rng, size=(64, 80), num_frames=6)) > 1.0
    assert _rotation(render_motion_video("RotateCCW", rng, size=(64, 80), num_frames=6)) < -1.0
    zoom_in = render_motion_video("ZoomIn", rng, size=(64, 80), num_frames=6)
    zoom_out = render_motion_video("ZoomOut", rng, size=(64, 80), num_frames=6)

    def scale(video):
        gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video]
        pts = cv2.goodFeaturesToTrack(gray[0], 200, 0.01, 3)
        nxt, ok, _ = cv2.calcOpticalFlowPyrLK(gray[0], gray[-1], pts, None)
        m, _ = cv2.estimateAffinePartial2D(pts[ok[:, 0] == 1], nxt[ok[:, 0] == 1])
        return float(np.hypot(m[0, 0], m[1, 0]))

    assert scale(zoom_in) > 1.05 and scale(zoom_out) < 0.95


def test_single_frames_carry_no_label(synthetic_root):
    """Appearance statistics of one frame must not predict the class; motion statistics must."""
    records, _ = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "train")
    more, _ = read_ucf_style_split(synthetic_root / "splits", synthetic_root / "videos", 1, "test")
    records += more
    labels = np.array([r.label for r in records])
    appearance, motion = [], []
    for r in records:
        v = _frames(r.path).astype(np.float32)
        f = v[len(v) // 2]
        gy, gx = np.gradient(f.mean(-1))
        appearance.append(np.r_[f.mean((0, 1)), f.std((0, 1)), np.hypot(gx, gy).mean()])
        motion.append([np.abs(np.diff(v, axis=0)).mean()])

    def loo_nearest_centroid(x: np.ndarray) -> float:
        x = (x - x.mean(0)) / (x.std(0) + 1e-8)
        hits = 0
        for i in range(len(x)):
            keep = np.arange(len(x)) != i
            cents = np.stack([x[keep & (labels == c)].mean(0) for c in range(len(CLASSES))])
            hits += int(np.argmin(((cents - x[i]) ** 2).sum(1)) == labels[i])
        return hits / len(x)

    assert loo_nearest_centroid(np.array(appearance)) < 0.35  # chance is 1/9
    still = np.array(motion)[labels == CLASSES.index("Still"), 0]
    moving = np.array(motion)[labels != CLASSES.index("Still"), 0]
    assert still.max() < moving.min()  # the same statistic on frame differences does carry motion


def test_cached_and_deterministic(tmp_path):
    a = generate_synthetic_motions(tmp_path / "a", seed=1, **TINY)
    manifest_mtime = (a / "manifest.json").stat().st_mtime_ns
    assert generate_synthetic_motions(tmp_path / "a", seed=1, **TINY) == a
    assert (a / "manifest.json").stat().st_mtime_ns == manifest_mtime  # cached, not rewritten
    b = generate_synthetic_motions(tmp_path / "b", seed=1, **TINY)
    c = generate_synthetic_motions(tmp_path / "c", seed=2, **TINY)
    rel = "ZoomOut/v_ZoomOut_g02_c01.avi"
    assert np.array_equal(_frames(a / "videos" / rel), _frames(b / "videos" / rel))
    assert (a / "videos" / rel).read_bytes() == (b / "videos" / rel).read_bytes()
    assert not np.array_equal(_frames(a / "videos" / rel), _frames(c / "videos" / rel))
    assert not list(tmp_path.glob(".*tmp*"))  # no leftover temporary directories


def test_regenerates_when_parameters_change(tmp_path):
    root = generate_synthetic_motions(tmp_path / "d", **TINY)
    assert _frames(root / "videos" / "Still" / "v_Still_g01_c01.avi").shape[0] == 8
    generate_synthetic_motions(root, **(TINY | {"num_frames": 10}))
    assert json.loads((root / "manifest.json").read_text())["num_frames"] == 10
    assert _frames(root / "videos" / "Still" / "v_Still_g01_c01.avi").shape[0] == 10


def test_unfinished_or_foreign_directory(tmp_path):
    root = tmp_path / "e"
    root.mkdir()
    (root / "notes.txt").write_text("somebody's data")
    with pytest.raises(OutputError, match="did not write .no .vidzoo-synthetic.*data=folder"):
        generate_synthetic_motions(root, **TINY)
    assert (root / "notes.txt").exists()  # nothing deleted
    empty = tmp_path / "f"
    empty.mkdir()
    assert (generate_synthetic_motions(empty, **TINY) / "manifest.json").is_file()


def test_a_users_folder_with_another_manifest_is_never_replaced(tmp_path):
    """`data.root=/my/videos` without `data=folder`: the folder's own manifest.json must not make it "ours"."""
    root = tmp_path / "my_videos"
    (root / "videos" / "Jump").mkdir(parents=True)
    (root / "videos" / "Jump" / "v_1.avi").write_bytes(b"precious")
    (root / "manifest.json").write_text('{"generator": "vidzoo.synthetic_motions", "version": 0}')
    with pytest.raises(OutputError, match="my_videos holds files vidzoo did not write"):
        generate_synthetic_motions(root, **TINY)
    assert (root / "videos" / "Jump" / "v_1.avi").read_bytes() == b"precious"
    assert json.loads((root / "manifest.json").read_text())["version"] == 0
    file_root = tmp_path / "a_file"
    file_root.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        generate_synthetic_motions(file_root, **TINY)
    assert file_root.read_text() == "x"


def test_own_folder_is_regenerated_and_kill_leftovers_removed(tmp_path):
    root = generate_synthetic_motions(tmp_path / "g", **TINY)
    assert (root / ".vidzoo-synthetic").is_file()
    assert root.stat().st_mode & 0o777 == 0o777 & ~_umask()  # not tempfile's private 0700
    leftovers = [tmp_path / ".g.tmp-123-0badc0de", tmp_path / ".g.old-77", tmp_path / ".g.tmp-abcd_123"]
    for d in leftovers:
        (d / "videos").mkdir(parents=True)
    unrelated = tmp_path / ".other.tmp-123-0badc0de"
    unrelated.mkdir()
    generate_synthetic_motions(root, **(TINY | {"seed": 5}))
    assert json.loads((root / "manifest.json").read_text())["seed"] == 5
    assert not any(d.exists() for d in leftovers) and unrelated.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".g.")) == [".g.lock"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="even size"):
        generate_synthetic_motions(tmp_path / "g", **(TINY | {"size": (33, 32)}))
    with pytest.raises(ValueError, match="unknown motion"):
        render_motion_video("Jump", np.random.default_rng(0))


@pytest.mark.parametrize("kind, size", [("empty", 0), ("garbage", 4096), ("header", 300)])
def test_write_corrupt_video(tmp_path, kind, size):
    assert write_corrupt_video(tmp_path / f"{kind}.avi", kind).stat().st_size == size


def test_write_truncated_video(tmp_path, synthetic_root):
    src = next((synthetic_root / "videos" / "Still").glob("*.avi"))
    out = write_corrupt_video(tmp_path / "t.avi", "truncated", source=src)
    assert 0 < out.stat().st_size < src.stat().st_size
    assert src.read_bytes().startswith(out.read_bytes())


def test_generation_says_what_it_makes_once(tmp_path, capsys):
    from vidzoo.data.synthetic import generate_synthetic_motions

    kw = dict(seed=1, train_per_class=1, test_per_class=1, size=(32, 32), num_frames=4)
    generate_synthetic_motions(tmp_path / "s", **kw)
    assert "generating the synthetic-motions dataset: 18 videos of 4 frames 32x32" in capsys.readouterr().out
    generate_synthetic_motions(tmp_path / "s", **kw)  # cached: nothing to say
    assert "generating" not in capsys.readouterr().out
