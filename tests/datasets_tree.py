"""Builders of tiny UCF101- and HMDB51-shaped dataset trees for tests (official file formats, tiny videos)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REAL_UCF_SPLITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucf101-splits" / "ucfTrainTestlist"

# (class folder, the class name used inside file names): UCF101's own oddity included.
UCF_CLASSES = [
    ("ApplyEyeMakeup", "ApplyEyeMakeup"),
    ("HandstandPushups", "HandStandPushups"),
    ("YoYo", "YoYo"),
]
HMDB_CLASSES = ["brush_hair", "cartwheel", "pour"]
# Video names with the characters real HMDB51 file names carry: ( ) ! & ' and more.
HMDB_ODD_NAMES = {
    "brush_hair": ["Aussie_Brunette_Brushing_Long_Hair_brush_hair_u_nm_np1_ba_med_3.avi",
                   "Tom_&_Jerry's_brush_hair_u_nm_np1_fr_goo_0.avi"],
    "cartwheel": ["(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi",
                  "Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi"],
    "pour": ["Bartender_School_Students_Practice_pour_u_cm_np1_fr_med_1.avi",
             "How_to_pour_beer_(the_right_way)_pour_u_nm_np1_fr_goo_2.avi"],
}


def frame_pattern(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A deterministic RGB frame ``(H, W, 3)`` uint8 that changes with ``t`` (a moving bar on a gradient)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    img[..., 1] = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    img[..., 2] = (40 * seed) % 256
    bar = (t * 3) % w
    img[:, bar : bar + max(w // 8, 2)] = (255, 255, 255)
    return img


def write_video(
    path: str | Path,
    num_frames: int = 8,
    size: tuple[int, int] = (32, 32),
    fps: int = 25,
    codec: str = "mpeg4",
    gop: int = 12,
    seed: int = 0,
    pix_fmt: str = "yuv420p",
    durations_ms: Sequence[int] | None = None,
) -> Path:
    """Write a small video (``size`` = (H, W)) with PyAV; MPEG-4 part 2 in AVI like UCF101 by default.

    ``pix_fmt="gray"`` writes a one-channel stream (with a codec that has it, e.g. ``ffv1``); ``durations_ms``
    gives frame ``t`` that display time (a variable frame rate; needs a container with timestamps: mp4, mkv).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = pix_fmt
        stream.gop_size = gop
        stream.codec_context.options = {"qscale": "2"} if codec == "mpeg4" else {}
        if durations_ms is not None:
            stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        pts = 0
        for t in range(num_frames):
            rgb = frame_pattern(t, h, w, seed)
            frame = (av.VideoFrame.from_ndarray(rgb[..., 0].copy(), format="gray") if pix_fmt == "gray"
                     else av.VideoFrame.from_ndarray(rgb, format="rgb24"))
            if durations_ms is not None:
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                pts += int(durations_ms[t])
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _crlf(lines: list[str]) -> str:
    return "".join(f"{ln}\r\n" for ln in lines)


def make_ucf101_tree(root: str | Path, groups: int = 3, clips: int = 2, num_frames: int = 8) -> Path:
    """A UCF101-shaped tree: ``ucfTrainTestlist/`` (CRLF, official formats) and ``UCF-101/<Class>/`` videos.

    Split ``s`` puts group ``s`` in test and the others in train, so every split covers every video.
    Returns ``root``.
    """
    root = Path(root)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_text(_crlf([f"{i} {c}" for i, (c, _) in enumerate(UCF_CLASSES, 1)]))
    source = write_video(root / "_source.avi", num_frames=num_frames)
    train: dict[int, list[str]] = {s: [] for s in (1, 2, 3)}
    test: dict[int, list[str]] = {s: [] for s in (1, 2, 3)}
    for label, (folder, stem) in enumerate(UCF_CLASSES, 1):
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                rel = f"{folder}/v_{stem}_g{g:02d}_c{c:02d}.avi"
                dst = root / "UCF-101" / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dst)
                for s in (1, 2, 3):
                    if g == s:
                        test[s].append(rel)
                    else:
                        train[s].append(f"{rel} {label}")
    for s in (1, 2, 3):
        (lists / f"trainlist0{s}.txt").write_text(_crlf(train[s]))
        (lists / f"testlist0{s}.txt").write_text(_crlf(test[s]))
    source.unlink()
    return root


def make_hmdb51_tree(root: str | Path, num_frames: int = 8) -> Path:
    """An HMDB51-shaped tree: ``testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`` and ``hmdb51_org/``.

    Each class has its two odd names plus two plain ones; in split ``s`` video ``s - 1`` is test (2),
    the one after it unused (0), the rest train (1). Returns ``root``.
    """
    root = Path(root)
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True, exist_ok=True)
    source = write_video(root / "_source.avi", num_frames=num_frames)
    for name in HMDB_CLASSES:
        videos = HMDB_ODD_NAMES[name] + [f"plain_{name}_{k}.avi" for k in range(2)]
        for v in videos:
            dst = root / "hmdb51_org" / name / v
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dst)
        for s in (1, 2, 3):
            marks = ["1"] * len(videos)
            marks[s - 1] = "2"
            marks[s % len(videos)] = "0"
            # Official files end each line with a space after the mark.
            text = "".join(f"{v} {m} \n" for v, m in zip(videos, marks))
            (splits / f"{name}_test_split{s}.txt").write_text(text)
    source.unlink()
    return root


def synthetic_kwargs(root: Path) -> dict:
    """The generator arguments a synthetic-motions tree was made with (its manifest), so ``build_datasets`` reuses
    the tree instead of regenerating it with the defaults."""
    manifest = json.loads((root / "manifest.json").read_text())
    return {k: manifest[k] for k in ("seed", "train_per_class", "test_per_class", "size", "num_frames", "fps")}


def data_config(*, synthetic_kwargs: dict | None = None, root: str | Path | None = None, **kw):
    """A ``DataConfig`` from keyword arguments: its own fields by name, any other key into ``data.extra`` (as
    ``+data.extra.KEY`` would), ``synthetic_kwargs`` (a manifest's generator arguments) as ``data.synthetic``."""
    from dataclasses import fields

    from vidzoo.config import DataConfig, SyntheticConfig

    names = {f.name for f in fields(DataConfig)}
    extra = {k: kw.pop(k) for k in list(kw) if k not in names}
    synthetic = SyntheticConfig(**{**synthetic_kwargs, "size": list(synthetic_kwargs["size"])}) \
        if synthetic_kwargs else SyntheticConfig()
    return DataConfig(root=str(root) if root else "", synthetic=synthetic, extra=extra, **kw)
