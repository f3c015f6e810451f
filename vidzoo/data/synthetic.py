"""Synthetic motions: the embedded default dataset, real encoded videos whose classes differ only in motion.

Every video shows a random textured scene (smooth colour background, random shapes, fine noise) drawn from
one distribution for all classes; the class decides only how a virtual camera moves over that scene
(still, translate left/right/up/down, rotate cw/ccw, zoom in/out). Each video also gets a random static
rotation and scale, so the spread of sharpness and orientation seen in a single frame is the same for
every class: a single frame carries no label information, only motion does.

Videos are MPEG-4 Part 2 in AVI with a short GOP (cheap seeks), laid out like UCF101::

    root/videos/<Class>/v_<Class>_gXX_cYY.avi
    root/splits/classInd.txt, trainlist01.txt, testlist01.txt
    root/manifest.json            (the generation parameters; a mismatch triggers regeneration)
    root/.vidzoo-synthetic        (the generator's mark: only a folder that carries it is ever replaced)

Test groups (``gXX``) are disjoint from train groups, as in UCF101.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from tqdm import tqdm

from vidzoo.files import check_owned, exclusive_lock, make_temp_dir, remove_leftovers, replace_dir

__all__ = [
    "CLASSES",
    "FLIP_PAIRS",
    "GENERATOR_VERSION",
    "REVERSE_PAIRS",
    "generate_synthetic_motions",
    "is_generated",
    "render_motion_video",
    "write_video",
]

#: Class names in label order (``classInd.txt`` order).
CLASSES: tuple[str, ...] = (
    "Still",
    "TranslateLeft",
    "TranslateRight",
    "TranslateUp",
    "TranslateDown",
    "RotateCW",
    "RotateCCW",
    "ZoomIn",
    "ZoomOut",
)

#: Classes that a horizontal flip turns into each other (a flipped "left" video shows "right" motion).
FLIP_PAIRS: tuple[tuple[str, str], ...] = (("TranslateLeft", "TranslateRight"), ("RotateCW", "RotateCCW"))

#: Classes that playing a video backwards turns into each other (every motion reverses; Still stays Still).
REVERSE_PAIRS: tuple[tuple[str, str], ...] = (
    ("TranslateLeft", "TranslateRight"),
    ("TranslateUp", "TranslateDown"),
    ("RotateCW", "RotateCCW"),
    ("ZoomIn", "ZoomOut"),
)

#: Bump when the rendering changes, so cached datasets are regenerated.
GENERATOR_VERSION = 3

_CLIPS_PER_GROUP = 5
_SPEED = (1.5, 2.5)  # translation, px per frame
_OMEGA = (2.0, 3.5)  # rotation, degrees per frame
_ZOOM = (0.02, 0.035)  # zoom, log-scale per frame
_MANIFEST = "manifest.json"
_MARK = ".vidzoo-synthetic"


def _scene(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random "dead leaves" scene ``(size, size, 3)`` uint8: overlapping discs of random colour whose radii
    follow a power law, over a smooth colour field, plus fine grain.

    Dead-leaves images are (nearly) scale invariant, so zooming does not change what a single frame looks
    like, and their sharp edges everywhere make motion visible in every part of the frame.
    """
    cells = max(2, size // 96)  # background colour varies on a ~100 px scale
    coarse = rng.integers(0, 256, size=(cells + rng.integers(0, 3), cells + rng.integers(0, 3), 3))
    img = cv2.resize(coarse.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    r_min, r_max = 5.0, 48.0
    mean_area = math.pi * 2 * math.log(r_max / r_min) / (r_min**-2 - r_max**-2)  # E[pi r^2] for density ~ r^-3
    n = int(1.5 * size * size / mean_area)  # discs cover the scene 1.5 times over on average
    u = rng.random(n)
    radii = r_min / np.sqrt(1 - u * (1 - (r_min / r_max) ** 2))  # density ~ r^-3 on [r_min, r_max]
    centres = rng.integers(0, size, size=(n, 2))
    colours = rng.integers(0, 256, size=(n, 3))
    for (x, y), r, c in zip(centres.tolist(), radii.tolist(), colours.tolist()):
        cv2.circle(img, (x, y), int(r), c, thickness=-1, lineType=cv2.LINE_AA)
    noise = rng.normal(0.0, 8.0, size=(size // 2, size // 2, 1)).astype(np.float32)
    img += cv2.resize(noise, (size, size), interpolation=cv2.INTER_LINEAR)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _motion_path(motion: str, num_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-frame on-screen content displacement (dx, dy) in output pixels, rotation (rad, positive =
    clockwise on screen) and log-scale (positive = magnified) for one motion class, centred on mid-clip."""
    t = np.arange(num_frames, dtype=np.float64) - (num_frames - 1) / 2.0
    zeros = np.zeros(num_frames)
    speed = rng.uniform(*_SPEED)  # px / frame
    omega = math.radians(rng.uniform(*_OMEGA))  # rad / frame
    zoom = rng.uniform(*_ZOOM)  # log-scale / frame
    dx, dy, rot, logs = zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy()
    if motion == "TranslateLeft":
        dx = -speed * t
    elif motion == "TranslateRight":
        dx = speed * t
    elif motion == "TranslateUp":  # image y points down
        dy = -speed * t
    elif motion == "TranslateDown":
        dy = speed * t
    elif motion == "RotateCW":
        rot = omega * t
    elif motion == "RotateCCW":
        rot = -omega * t
    elif motion == "ZoomIn":
        logs = zoom * t
    elif motion == "ZoomOut":
        logs = -zoom * t
    elif motion != "Still":
        raise ValueError(f"unknown motion class {motion!r}; choose one of {', '.join(CLASSES)}")
    return dx, dy, rot, logs


def render_motion_video(
    motion: str, rng: np.random.Generator, *, size: tuple[int, int] = (64, 80), num_frames: int = 32
) -> np.ndarray:
    """Render one synthetic video ``(T, H, W, 3)`` uint8 RGB of class ``motion``.

    Frames are rendered at 2x and area-downsampled, so zoom-out frames are not aliased (aliasing would leak
    the class into single frames).
    """
    h, w = size
    ss = 2  # supersampling factor
    base_rot = rng.uniform(0, 2 * math.pi)
    dx, dy, rot, logs = _motion_path(motion, num_frames, rng)
    # Static log-scale per video, drawn so that the log-scale of a single frame has about the same spread
    # (uniform-ish on [-a, a]) whether or not the class zooms: blur/texture size must not reveal the class.
    spread = _ZOOM[1] * (num_frames - 1) / 2 + 0.1
    half_span = float(np.max(np.abs(logs)))
    base_logs = rng.uniform(-(spread - half_span), spread - half_span)
    radius = math.hypot(h, w) / 2  # output pixels from the frame centre to a corner
    scales = np.exp(base_logs + logs)  # > 1 magnifies the scene
    reach = float(np.max((np.hypot(dx, dy) + radius) / scales))  # scene extent (output px at scale 1) needed
    scene_size = int(2 * reach * ss) + 8
    scene = _scene(rng, scene_size)
    c_scene = np.full(2, (scene_size - 1) / 2.0)
    c_out = np.array([(w * ss - 1) / 2.0, (h * ss - 1) / 2.0])
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    for i in range(num_frames):
        # A screen point p shows the scene point c_scene + a (p - c_out - d): the content appears rotated by
        # -theta in scene terms (+theta on screen, y down = clockwise), magnified by `scale`, shifted by d.
        theta = -(base_rot + rot[i])
        a = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]]) / scales[i]
        b = c_scene - a @ (c_out + np.array([dx[i], dy[i]]) * ss)
        m = np.hstack([a, b[:, None]])
        big = cv2.warpAffine(
            scene, m, (w * ss, h * ss), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT
        )
        frames[i] = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return frames


def write_video(path: str | Path, frames: np.ndarray, *, fps: int = 25, gop: int = 8, codec: str = "mpeg4") -> None:
    """Encode ``frames`` ``(T, H, W, 3)`` uint8 RGB to ``path`` (AVI/MPEG-4 Part 2, keyframe every ``gop`` frames).

    Single-threaded and without B-frames, so the output bytes are deterministic.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise ValueError(f"frame size {w}x{h} must be even for yuv420p encoding")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        stream.max_b_frames = 0
        stream.bit_rate = 40 * w * h * fps // 8  # generous: keeps fine texture (the motion cue) intact
        stream.codec_context.thread_count = 1
        for i in range(t):
            frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _params(seed: int, train_per_class: int, test_per_class: int, size: tuple[int, int], num_frames: int, fps: int):
    return {
        "generator": "vidzoo.synthetic_motions",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "train_per_class": int(train_per_class),
        "test_per_class": int(test_per_class),
        "size": [int(size[0]), int(size[1])],
        "num_frames": int(num_frames),
        "fps": int(fps),
        "classes": list(CLASSES),
        "flip_pairs": [list(p) for p in FLIP_PAIRS],
    }


def _read_manifest(root: Path) -> dict | None:
    try:
        return json.loads((root / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def is_generated(root: str | Path, **params: Any) -> bool:
    """Whether ``root`` already holds the dataset of these :func:`generate_synthetic_motions` parameters
    (all six given), so that generating it there only reads."""
    return _read_manifest(Path(root).expanduser()) == _params(**params)


def _split_plan(train_per_class: int, test_per_class: int) -> list[tuple[str, int, int]]:
    """(subset, group, clip) per video of one class; test groups come first and never hold train videos."""
    plan = []
    n_test_groups = math.ceil(test_per_class / _CLIPS_PER_GROUP)
    for subset, count, g0 in (("test", test_per_class, 1), ("train", train_per_class, 1 + n_test_groups)):
        for k in range(count):
            plan.append((subset, g0 + k // _CLIPS_PER_GROUP, 1 + k % _CLIPS_PER_GROUP))
    return plan


def generate_synthetic_motions(
    root: str | Path,
    *,
    seed: int = 0,
    train_per_class: int = 30,
    test_per_class: int = 10,
    size: tuple[int, int] = (64, 80),
    num_frames: int = 32,
    fps: int = 25,
) -> Path:
    """Write the synthetic-motions dataset under ``root`` (once; cached by a manifest of the parameters).

    ``size`` is ``(H, W)``. Deterministic given ``seed``. Generation goes to a temporary sibling directory that
    is renamed into place when complete, so an interrupted run never looks finished. An existing ``root``
    generated with other parameters is replaced only if it carries the generator's mark (``.vidzoo-synthetic``);
    any other non-empty ``root`` is an :class:`OutputError` and nothing in it is touched. Returns ``root``.
    """
    root = Path(root).expanduser().resolve()
    if train_per_class < 1 or test_per_class < 1:
        raise ValueError("train_per_class and test_per_class must be >= 1")
    if num_frames < 2 or size[0] < 16 or size[1] < 16 or size[0] % 2 or size[1] % 2:
        raise ValueError(f"need num_frames >= 2 and even size >= 16, got num_frames={num_frames}, size={size}")
    params = _params(seed, train_per_class, test_per_class, size, num_frames, fps)
    if _read_manifest(root) == params:
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root.parent / f".{root.name}.lock"):  # concurrent processes (DDP ranks) generate once
        if _read_manifest(root) == params:  # another process finished while we waited
            return root
        fix = "for your own videos set data.source (e.g. data=folder), else choose another data.root"
        check_owned(root, _MARK, fix)
        remove_leftovers(root.parent, lambda name: name == root.name)  # of a generator that was killed
        tmp = make_temp_dir(root.parent, root.name)
        try:
            _generate_into(tmp, params)
            replace_dir(tmp, root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return root


def _generate_into(out: Path, params: dict) -> None:
    size = tuple(params["size"])
    lines: dict[str, list[str]] = {"train": [], "test": []}
    plan = _split_plan(params["train_per_class"], params["test_per_class"])
    total = len(CLASSES) * len(plan)
    print(f"[vidzoo] generating the synthetic-motions dataset: {total} videos of {params['num_frames']} frames "
          f"{size[0]}x{size[1]} (once; cached)", flush=True)
    bar = tqdm(total=total, desc="synthetic motions", unit="video", disable=None, dynamic_ncols=True)
    for label, cls in enumerate(CLASSES):
        (out / "videos" / cls).mkdir(parents=True)
        for k, (subset, group, clip) in enumerate(plan):
            rng = np.random.default_rng([params["seed"], label, k])
            frames = render_motion_video(cls, rng, size=size, num_frames=params["num_frames"])
            rel = f"{cls}/v_{cls}_g{group:02d}_c{clip:02d}.avi"
            write_video(out / "videos" / rel, frames, fps=params["fps"])
            lines[subset].append(f"{rel} {label + 1}" if subset == "train" else rel)
            bar.update()
    bar.close()
    splits = out / "splits"
    splits.mkdir()
    (splits / "classInd.txt").write_text("".join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    (splits / "trainlist01.txt").write_text("".join(f"{ln}\n" for ln in lines["train"]))
    (splits / "testlist01.txt").write_text("".join(f"{ln}\n" for ln in lines["test"]))
    (out / _MARK).write_text(json.dumps({"generator": params["generator"]}) + "\n")
    (out / _MANIFEST).write_text(json.dumps(params, indent=2) + "\n")  # written last: marks completion
