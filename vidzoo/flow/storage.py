"""Quantised JPEG storage of optical flow, the layout every two-stream codebase reads.

Layout, for a video ``<video_root>/<Class>/<name>.avi`` and a flow root ``F``::

    F/<Class>/<name>/flow_x_00001.jpg   x displacement from frame 0 to frame 1 (0-based frames)
    F/<Class>/<name>/flow_y_00001.jpg   y displacement, same pair
    F/<Class>/<name>/img_00001.jpg      optional RGB frame 0 (so both streams index the same frames)
    F/<Class>/<name>/meta.json          written last; its presence marks the video as finished

File number ``k`` (1-based) holds the flow of the frame pair ``(k-1, k)``; flow index ``i``
(0-based, what :class:`vidzoo.data.decoding.flow.FlowStackDecoder` takes) is file ``i + 1``.

Quantisation (the same mapping as the widely used ``denseflow`` tool, so pre-extracted
datasets read back correctly): a displacement ``v`` in pixels is clipped to
``[-bound, bound]`` and stored as the gray level

    q = round((clip(v, -bound, bound) + bound) * 255 / (2 * bound))      (uint8, 0..255)

and read back as

    v' = q * (2 * bound) / 255 - bound.

Before JPEG, ``|v - v'| <= bound / 255`` for ``|v| <= bound`` (half a step of
``2 * bound / 255``; 0.078 px for the default bound 20). Zero flow is stored as 128 and
reads back as +0.078 px, a constant offset that mean-flow subtraction removes. JPEG at
quality 95 adds a few gray levels on smooth fields (measured in the tests: at most 3
levels, i.e. 0.47 px at bound 20, on a smooth random field); pass ``quality=100`` for less.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

DEFAULT_BOUND = 20.0
DEFAULT_QUALITY = 95
META_FILE = "meta.json"


class FlowStorageError(OSError):
    """A flow JPEG or a flow directory cannot be read or written; the message names it and the fix."""


def quantize(flow: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Map float displacements (any shape) to uint8 gray levels as described in the module docstring."""
    if bound <= 0:
        raise ValueError(f"bound must be positive, got {bound}")
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2.0 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize(q: np.ndarray, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Inverse of :func:`quantize`: uint8 gray levels -> float32 pixel displacements."""
    return (q.astype(np.float32) * np.float32(2.0 * bound / 255.0) - np.float32(bound)).astype(np.float32)


def frame_name(kind: str, number: int, ext: str = "jpg") -> str:
    """``frame_name("flow_x", 1) == "flow_x_00001.jpg"``; ``number`` is 1-based."""
    return f"{kind}_{number:05d}.{ext}"


def _write_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise FlowStorageError(f"{path}: JPEG encoding failed for an array of shape {image.shape}")
    path.write_bytes(buf.tobytes())


def write_flow(
    directory: str | Path,
    number: int,
    flow: np.ndarray,
    bound: float = DEFAULT_BOUND,
    quality: int = DEFAULT_QUALITY,
) -> None:
    """Write one ``(H, W, 2)`` float flow field as ``flow_x_<number>.jpg`` / ``flow_y_<number>.jpg``."""
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"expected a flow field (H, W, 2), got shape {flow.shape}")
    directory = Path(directory)
    q = quantize(flow, bound)
    _write_jpeg(directory / frame_name("flow_x", number), np.ascontiguousarray(q[..., 0]), quality)
    _write_jpeg(directory / frame_name("flow_y", number), np.ascontiguousarray(q[..., 1]), quality)


def write_rgb(directory: str | Path, number: int, rgb: np.ndarray, quality: int = DEFAULT_QUALITY) -> None:
    """Write an RGB ``(H, W, 3)`` uint8 frame as ``img_<number>.jpg``."""
    _write_jpeg(Path(directory) / frame_name("img", number), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)


def _read_gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        reason = "missing" if not path.exists() else "not a readable JPEG (corrupt or truncated)"
        raise FlowStorageError(f"{path}: {reason}; re-run vidzoo-extract-flow for this video")
    return image


def read_flow(directory: str | Path, number: int, bound: float = DEFAULT_BOUND) -> np.ndarray:
    """Read flow file ``number`` (1-based) back as float32 ``(H, W, 2)`` pixel displacements."""
    directory = Path(directory)
    qx = _read_gray(directory / frame_name("flow_x", number))
    qy = _read_gray(directory / frame_name("flow_y", number))
    if qx.shape != qy.shape:
        raise FlowStorageError(f"{directory}: flow_x/flow_y {number} differ in size ({qx.shape} vs {qy.shape})")
    return dequantize(np.stack([qx, qy], axis=-1), bound)


def read_rgb(directory: str | Path, number: int) -> np.ndarray:
    """Read ``img_<number>.jpg`` as an RGB ``(H, W, 3)`` uint8 array."""
    path = Path(directory) / frame_name("img", number)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        reason = "missing" if not path.exists() else "not a readable JPEG (corrupt or truncated)"
        raise FlowStorageError(f"{path}: {reason}; extract with --dump-rgb to store RGB frames next to the flow")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_meta(directory: str | Path, meta: dict[str, Any]) -> None:
    """Write ``meta.json`` (sorted keys, so identical runs give identical bytes)."""
    (Path(directory) / META_FILE).write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n")


def read_meta(directory: str | Path) -> dict[str, Any] | None:
    """The video's ``meta.json`` as a dict, or None when the directory has none (third-party flow)."""
    path = Path(directory) / META_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FlowStorageError(f"{path}: unreadable ({exc}); delete the directory and re-extract") from exc


def count_flow_files(directory: str | Path) -> int:
    """Number of ``flow_x_*.jpg`` files in ``directory`` (0 when it does not exist)."""
    directory = Path(directory)
    return len(list(directory.glob("flow_x_*.jpg"))) if directory.is_dir() else 0


def flow_dir_for(video_path: str | Path, flow_root: str | Path, video_root: str | Path | None = None) -> Path:
    """Directory holding the flow of ``video_path``: ``flow_root / <relpath without extension>``.

    The relative path is taken against ``video_root``; without one, the last two path parts
    (``<Class>/<name>``, the UCF101/HMDB51 layout) are used.
    """
    video_path = Path(video_path)
    if video_root is not None:
        try:
            rel = video_path.relative_to(video_root)
        except ValueError:
            raise FlowStorageError(
                f"{video_path} is not under the video root {video_root}; pass the directory the flow was extracted from"
            ) from None
    else:
        rel = Path(*video_path.parts[-2:])
    return Path(flow_root) / rel.with_suffix("")
