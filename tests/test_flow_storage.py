"""Quantised JPEG flow storage: exact mapping, JPEG error bound, layout and path mapping."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidzoo.flow import storage


def smooth_field(shape=(48, 64), scale=15.0, seed=0) -> np.ndarray:
    """A smooth random flow field (H, W, 2) within about +-scale px."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1, 1, size=(6, 8, 2)).astype(np.float32)
    return cv2.resize(coarse, shape[::-1], interpolation=cv2.INTER_LINEAR) * scale


def test_quantize_mapping_is_the_documented_one():
    b = 20.0
    v = np.array([-25.0, -20.0, 0.0, 20.0, 30.0], np.float32)
    assert storage.quantize(v, b).tolist() == [0, 0, 128, 255, 255]  # clipped, (v + b) * 255 / 2b rounded
    assert storage.dequantize(np.array([0, 255], np.uint8), b).tolist() == pytest.approx([-20.0, 20.0])


@pytest.mark.parametrize("bound", [20.0, 5.0])
def test_quantisation_error_is_at_most_half_a_step(bound):
    v = np.linspace(-bound, bound, 10001, dtype=np.float32)
    err = np.abs(storage.dequantize(storage.quantize(v, bound), bound) - v)
    assert err.max() <= bound / 255 + 1e-5


def test_jpeg_round_trip_within_stated_error(tmp_path: Path):
    bound = 20.0
    flow = smooth_field(scale=15.0)
    storage.write_flow(tmp_path, 1, flow, bound=bound, quality=95)
    back = storage.read_flow(tmp_path, 1, bound=bound)
    assert back.shape == flow.shape and back.dtype == np.float32
    step = 2 * bound / 255
    # documented: half a step from quantisation + at most 3 gray levels from JPEG q95 on smooth fields
    assert np.abs(back - flow).max() <= bound / 255 + 3 * step
    assert np.abs(back - flow).mean() < step


def test_layout_names_and_rgb(tmp_path: Path):
    flow = smooth_field()
    storage.write_flow(tmp_path, 7, flow)
    rgb = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    rgb = cv2.GaussianBlur(rgb, (9, 9), 3)
    storage.write_rgb(tmp_path, 1, rgb, quality=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow_x_00007.jpg", "flow_y_00007.jpg", "img_00001.jpg"]
    assert np.abs(storage.read_rgb(tmp_path, 1).astype(int) - rgb).max() <= 8  # RGB order kept (JPEG chroma loss)
    assert storage.count_flow_files(tmp_path) == 1


def test_unreadable_file_names_the_file_and_fix(tmp_path: Path):
    (tmp_path / "flow_x_00001.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "flow_y_00001.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(storage.FlowStorageError, match=r"flow_x_00001.jpg.*vidzoo-extract-flow"):
        storage.read_flow(tmp_path, 1)
    with pytest.raises(storage.FlowStorageError, match="missing"):
        storage.read_flow(tmp_path, 2)


def test_flow_dir_for(tmp_path: Path):
    video = tmp_path / "videos" / "Jump" / "v_Jump_g01_c01.avi"
    assert storage.flow_dir_for(video, "/f", tmp_path / "videos") == Path("/f/Jump/v_Jump_g01_c01")
    assert storage.flow_dir_for(video, "/f") == Path("/f/Jump/v_Jump_g01_c01")  # <Class>/<name> fallback
    with pytest.raises(storage.FlowStorageError, match="not under the video root"):
        storage.flow_dir_for(video, "/f", tmp_path / "elsewhere")
